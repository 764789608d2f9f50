import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { complianceIndex, complianceReport } from '../../policy/compliance-report';
import { residencyDiagram } from '../../policy/residency-diagram';
import { stacks } from '../../policy/stack-yaml';
import { zoneSnapshot } from '../support/stack-queries';

describe('the compliance report', () => {
  it.each(stacks)('for %s is current: compliance/<stack>.md is what the program creates today', async (stack) => {
    const { json, md } = await complianceReport(await zoneSnapshot(stack));
    expect(json.policies.every((p) => p.violations.length === 0)).toBe(true);
    expect(json.resources.every((r) => json.allowedRegions.includes(r.region))).toBe(true);
    expect(
      json.resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.classification === 'phi-transient')?.retention,
    ).toContain('jobs/ expires after 1 d');
    // Regenerate with `npm run compliance` after changing the infrastructure.
    expect(md).toBe(readFileSync(new URL(`../../compliance/${stack}.md`, import.meta.url), 'utf8'));
  });

  it('compliance/README.md is current, every zone side by side', async () => {
    expect(complianceIndex(await Promise.all(stacks.map(zoneSnapshot)))).toBe(
      readFileSync(new URL('../../compliance/README.md', import.meta.url), 'utf8'),
    );
  });
});

describe('the residency diagram', () => {
  it.each(stacks)(
    "of %s shows the zone at a glance: its regions, the model's, and no region outside the zone",
    async (stack) => {
      const snapshot = await zoneSnapshot(stack);
      const diagram = residencyDiagram(snapshot, () => 'none');
      const boxes = [...diagram.matchAll(/subgraph region_[^[]*\["([a-z0-9-]+) — /g)].map((m) => m[1]!);
      expect(boxes).toContain(snapshot.config.homeRegion);
      for (const region of boxes) expect(snapshot.config.allowedRegions, region).toContain(region);
      // Where documents are processed is part of residency: one model node names every region.
      const model = /model\{\{"[^"]*in ([a-z0-9-, ]+)"\}\}/.exec(diagram)?.[1]?.split(', ');
      expect(model?.sort()).toEqual([...snapshot.config.bedrock.inferenceRegions].sort());
      // Every data store is named, in its region's box; the rest of the stack is counted there.
      for (const r of snapshot.resources.filter((x) => /^aws:(dynamodb\/table|s3\/bucket:Bucket)/.test(x.type)))
        expect(diagram, r.name).toContain(r.name.replace(/^serenya-/, ''));
      // One node per role and region: no box repeats per inference region, so it stays readable.
      expect(diagram.split('\n').length).toBeLessThan(60);
    },
  );

  it('would place an injected resource in its own region, so a stray one shows', async () => {
    const snapshot = await zoneSnapshot('prod-eu');
    const stray = {
      ...snapshot.resources.find((r) => r.type === 'aws:s3/bucket:Bucket')!,
      name: 'stray-bucket',
      region: 'us-east-1',
    };
    const diagram = residencyDiagram({ ...snapshot, resources: [...snapshot.resources, stray] }, () => 'none');
    expect(diagram).toContain('subgraph region_us_east_1["us-east-1 — "]');
  });
});
