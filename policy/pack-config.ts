import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackConfig } from '../components/stack-config';
import { zonePolicies } from './policies';
import { policyPackConfig, zoneRules } from './zone-rules';

/**
 * Writes a zone's `--policy-pack-config` file, its rules for the pack taken from the stack's
 * validated configuration, and returns its path (for `pulumi preview --policy-pack-config`, or
 * the Automation API's `policyPackConfigs`).
 */
export function writePolicyPackConfig(config: StackConfig, dir = mkdtempSync(join(tmpdir(), 'serenya-policy-'))): string {
  const file = join(dir, `policy-config.${config.zone}.json`);
  writeFileSync(file, `${JSON.stringify(policyPackConfig(zoneRules(config), zonePolicies), null, 2)}\n`);
  return file;
}
