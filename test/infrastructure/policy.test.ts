import * as aws from '@pulumi/aws';
import { describe, expect, it } from 'vitest';
import { runPolicies } from '../../policy/policy-run';
import { snapshotStack } from '../../policy/stack-snapshot';
import { stacks } from '../../policy/stack-yaml';
import { zoneRules } from '../../policy/zone-rules';
import { stubCode, zoneSnapshot } from '../support/stack-queries';

const violationsOf = async (...args: Parameters<typeof snapshotStack>) =>
  (await runPolicies(await snapshotStack(...args))).flatMap((p) => p.violations);

describe('the zone policy pack', () => {
  it.each(stacks)('passes stack %s as its own YAML declares it', async (stack) => {
    const results = await runPolicies(await zoneSnapshot(stack));
    expect(results.map((r) => r.name)).toEqual([
      'region-allow-list',
      'global-table-replicas-in-zone',
      'kms-encryption-at-rest',
      'tls-only-bucket-policy',
      'block-public-access',
      'temp-bucket-expiry',
      'log-retention',
      'pitr-in-production',
      'bedrock-in-zone',
      'aws-creation-order',
      'no-public-lambda-url',
    ]);
    expect(results.flatMap((r) => r.violations)).toEqual([]);
  });

  it('refuses a bucket injected into another region', async () => {
    const violations = await violationsOf('prod-eu', {
      code: stubCode,
      extra: () => {
        const us = new aws.Provider('rogue-us-east-1', { region: 'us-east-1' });
        new aws.s3.Bucket('rogue', {}, { provider: us });
      },
    });
    const messages = violations.filter((v) => v.policy === 'region-allow-list').map((v) => v.message);
    expect(messages).toContain(
      "Provider rogue-us-east-1 targets us-east-1, outside zone eu's allowed regions (eu-west-1, eu-west-3, eu-central-1, eu-north-1, eu-south-1, eu-south-2).",
    );
    expect(messages.some((m) => m.startsWith('aws:s3/bucket:Bucket rogue is in us-east-1'))).toBe(true);
  });

  it('refuses an unencrypted, public, HTTP-reachable bucket', async () => {
    const violations = await violationsOf('prod-eu', {
      code: stubCode,
      extra: () => {
        const eu = new aws.Provider('extra-eu-west-1', { region: 'eu-west-1' });
        new aws.s3.Bucket('plain', { bucket: 'serenya-plain' }, { provider: eu });
      },
    });
    const of = (policy: string) => violations.filter((v) => v.policy === policy).map((v) => v.message);
    expect(of('kms-encryption-at-rest')).toEqual([
      'Bucket plain has no SSE-KMS default encryption; add a BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and the zone\'s data key.',
    ]);
    expect(of('block-public-access')).toHaveLength(1);
    expect(of('tls-only-bucket-policy')).toHaveLength(1);
    expect(of('region-allow-list')).toEqual([]);
  });

  it('refuses a grant on a global Bedrock profile', async () => {
    const violations = await violationsOf('prod-us', {
      code: stubCode,
      extra: () => {
        const us = new aws.Provider('extra-us-east-1', { region: 'us-east-1' });
        new aws.iam.RolePolicy(
          'shortcut',
          {
            role: 'some-role',
            policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['bedrock:InvokeModel'],
                  Resource: [
                    'arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0',
                  ],
                },
              ],
            }),
          },
          { provider: us },
        );
      },
    });
    expect(violations.filter((v) => v.policy === 'bedrock-in-zone').map((v) => v.message)).toEqual([
      "shortcut grants Bedrock on arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0, which may run outside zone us; grant this zone's geographic profile instead.",
    ]);
  });

  it('refuses replicas the zone did not declare, and a public function URL', async () => {
    const snapshot = await snapshotStack('prod-eu', {
      code: stubCode,
      extra: () => {
        const eu = new aws.Provider('extra-eu-west-1', { region: 'eu-west-1' });
        new aws.lambda.FunctionUrl(
          'open',
          { functionName: 'serenya-prod-eu-api', authorizationType: 'NONE' },
          { provider: eu },
        );
      },
    });
    const violations = (await runPolicies(snapshot, { ...zoneRules(snapshot.config), replicaRegions: [] })).flatMap(
      (p) => p.violations,
    );
    expect(violations.find((v) => v.policy === 'global-table-replicas-in-zone')?.message).toContain(
      'but the zone declares []',
    );
    expect(violations.find((v) => v.policy === 'no-public-lambda-url')?.message).toContain(
      'Function URL open is public',
    );
  });
});
