import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackConfig } from '../components/stack-config';
import { zonePolicies } from './policies';
import { stackFileConfig } from './stack-yaml';
import { policyPackConfig, zoneRules } from './zone-rules';

/**
 * Writes a zone's `--policy-pack-config` file, its rules for the pack taken from the stack's
 * validated configuration, and returns its path (for `pulumi preview --policy-pack-config`, or
 * the Automation API's `policyPackConfigs`).
 */
export function writePolicyPackConfig(
  config: StackConfig,
  dir = fileURLToPath(new URL('../.local/policy-config/', import.meta.url)),
): string {
  // One file per zone, written again at each run: nothing piles up across deploys. In the project's
  // own `.local/`, not a shared temporary folder another user of the machine could write first.
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `policy-config.${config.zone}.json`);
  writeFileSync(file, `${JSON.stringify(policyPackConfig(zoneRules(config), zonePolicies), null, 2)}\n`);
  return file;
}

// `tsx policy/pack-config.ts <stack>`: the file for a stack's filled-in `Pulumi.<stack>.yaml`, in the current folder.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(writePolicyPackConfig(stackFileConfig(process.argv[2] ?? 'dev'), process.cwd()));
}
