import * as aws from '@pulumi/aws';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackConfig } from '../../components/stack-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicyPack, policyPackDir } from '../../policy/build';
import { writePolicyPackConfig } from '../../policy/pack-config';
import { engineResources } from '../../policy/policy-run';
import { snapshotStack, withDeployValues, type StackSnapshot } from '../../policy/stack-snapshot';
import { stackFileConfig, stackYamlConfig, stacks, type StackName } from '../../policy/stack-yaml';
import { zonePolicies } from '../../policy/policies';
import { startPolicyPack } from '../support/policy-pack-runner';
import { stubCode, zoneSnapshot } from '../support/stack-queries';

/** Every policy the pack's source declares: the runner must serve each, by name. */
const policies = zonePolicies.map((p) => p.name);
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** The engine's view of a stack: its configuration as shipped, `SET-ME` values and all. */
const stackContext = (stack: StackName) => ({
  organization: 'serenya',
  project: 'serenya',
  stack,
  config: stackYamlConfig(stack),
  dryRun: true,
});

// One pack per stack, as the engine starts one per preview; each test configures it before it judges
// (`Configure` replaces the rules). Every pack ends with the file, also one still starting when a test failed.
const packs = {} as Record<StackName, ReturnType<typeof startPolicyPack>>;
beforeAll(async () => {
  // What `npm test` and `npm run deploy` build first; built here too, so this file alone judges the current pack.
  await buildPolicyPack();
  for (const stack of stacks) {
    packs[stack] = startPolicyPack(policyPackDir, stackContext(stack));
    packs[stack].catch(() => undefined); // a pack that fails to start fails the tests that use it
  }
});
afterAll(async () => {
  await Promise.all(Object.values(packs).map(async (p) => (await p.catch(() => undefined))?.close()));
});

/** Every resource through `Analyze` as it registers, then the stack through `AnalyzeStack`, as a preview runs a pack. */
async function judge(pack: Awaited<(typeof packs)[StackName]>, snapshot: StackSnapshot) {
  const resources = engineResources(snapshot);
  const perResource = await Promise.all(resources.map((r) => pack.analyze(r)));
  return [...perResource.flat(), ...(await pack.analyzeStack(resources))];
}

/** The zone's rules as the deploy command hands them to Pulumi, a `--policy-pack-config` file, read as the engine reads it. */
const rulesOf = (config: StackConfig) => JSON.parse(readFileSync(writePolicyPackConfig(config, configDir), 'utf8'));
const configDir = mkdtempSync(join(tmpdir(), 'serenya-policy-test-'));
afterAll(() => rmSync(configDir, { recursive: true, force: true }));

describe("the policy pack under Pulumi's own runner (run-policy-pack, the Analyzer protocol)", () => {
  it('serves every policy, mandatory, at the version its package.json declares', async () => {
    const info = await (await packs.dev).info();
    expect(info.name).toBe('serenya-zone');
    expect(info.version).toBe(manifest(policyPackDir).version);
    expect(info.policies.map((p) => p.name)).toEqual(policies);
    expect(info.policies.filter((p) => p.enforcementLevel !== 'mandatory')).toEqual([]);
    expect(info.supportsConfig).toBe(true);
  });

  it("declares the Pulumi packages it loads at the project's versions (a published pack installs them)", () => {
    const project = manifest(join(policyPackDir, '..')).dependencies;
    const pack = manifest(policyPackDir).dependencies;
    expect(Object.fromEntries(Object.keys(pack).map((name) => [name, project[name]]))).toEqual(pack);
  });

  it("is refused without the zone's rules, each missing one named as the engine names it", async () => {
    const pack = await packs['prod-eu'];
    await expect(pack.configure()).rejects.toThrow(
      'region-allow-list: allowedRegions is required; region-allow-list: zone is required',
    );
    const schema = (await pack.info()).policies.find((p) => p.name === 'global-table-replicas-in-zone')!.configSchema;
    expect(schema?.required).toEqual(['zone', 'allowedRegions', 'replicaRegions']);
  });

  it.each(stacks)(
    'passes stack %s given its rules as --policy-pack-config, though its file still says SET-ME',
    async (stack) => {
      const [pack, snapshot] = await Promise.all([packs[stack], zoneSnapshot(stack)]);
      await pack.configure(rulesOf(snapshot.config));
      expect(await judge(pack, snapshot)).toEqual([]);
    },
  );

  it('reports an injected violation, mandatory, on the resource that breaks the rule', async () => {
    const [pack, snapshot] = await Promise.all([
      packs['prod-eu'],
      snapshotStack('prod-eu', {
        code: stubCode,
        extra: () => {
          const us = new aws.Provider('rogue-us-east-1', { region: 'us-east-1' });
          new aws.s3.Bucket('rogue', {}, { provider: us });
        },
      }),
    ]);
    await pack.configure(rulesOf(snapshot.config));
    const found = await judge(pack, snapshot);
    const urn = (type: string, name: string) => `urn:pulumi:prod-eu::serenya::${type}::${name}`;
    expect(found).toContainEqual({
      policy: 'region-allow-list',
      level: 'mandatory',
      urn: urn('aws:s3/bucket:Bucket', 'rogue'),
      message: expect.stringContaining("aws:s3/bucket:Bucket rogue is in us-east-1, outside zone eu's allowed regions"),
    });
    expect(
      found
        .filter((d) => d.urn === urn('aws:s3/bucket:Bucket', 'rogue'))
        .map((d) => d.policy)
        .sort(),
    ).toEqual(['block-public-access', 'kms-encryption-at-rest', 'region-allow-list', 'tls-only-bucket-policy']);
    expect(found.filter((d) => d.urn === urn('pulumi:providers:aws', 'rogue-us-east-1')).map((d) => d.policy)).toEqual([
      'region-allow-list',
    ]);
  });

  it("judges by the rules it is configured with: another zone's rules refuse this zone's stack", async () => {
    const [pack, eu] = await Promise.all([packs['prod-eu'], zoneSnapshot('prod-eu')]);
    const us = stackFileConfig('prod-us', (c) => withDeployValues('prod-us', c));
    await pack.configure(rulesOf(us));
    const found = await judge(pack, eu);
    expect(new Set(found.map((d) => d.policy))).toEqual(
      new Set(['region-allow-list', 'global-table-replicas-in-zone', 'bedrock-in-zone']),
    );
  });
});
