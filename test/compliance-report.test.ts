import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { complianceReport } from '../policy/compliance-report';
import { stacks } from '../policy/stack-snapshot';

describe('the compliance report', () => {
  it.each(stacks)('for %s is current: compliance/<stack>.md is what the program creates today', async (stack) => {
    const { json, md } = await complianceReport(stack);
    expect(json.policies.every((p) => p.violations.length === 0)).toBe(true);
    expect(json.resources.every((r) => json.allowedRegions.includes(r.region))).toBe(true);
    expect(json.resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.classification === 'phi-transient')?.retention).toContain('jobs/ expires after 1 d');
    // Regenerate with `npm run compliance` after changing the infrastructure.
    expect(md).toBe(readFileSync(new URL(`../compliance/${stack}.md`, import.meta.url), 'utf8'));
  });
});
