import type * as aws from '@pulumi/aws';
import { describe, expect, it } from 'vitest';
import { runPolicies } from '../../policy/policy-run';
import { snapshotStack } from '../../policy/stack-snapshot';
import { stubCode, zoneSnapshot } from '../support/stack-queries';

/**
 * A stack changes one resource without editing a component (`ZoneArgs.transform`, in
 * SST's style), and the policy pack still judges what comes out.
 */
type Rule = aws.types.input.wafv2.WebAclRule;

describe('component transforms', () => {
  it('change one WAF rule and one bucket setting, and leave everything else as the components make it', async () => {
    const plain = await zoneSnapshot('prod-eu');
    const changed = await snapshotStack('prod-eu', {
      code: stubCode,
      transform: {
        api: {
          webAcl: (args) => {
            const rules = args.rules as Rule[];
            args.rules = rules.map((rule) =>
              rule.name === 'rate-per-ip'
                ? { ...rule, statement: { rateBasedStatement: { limit: 250, aggregateKeyType: 'IP' } } }
                : rule,
            );
          },
        },
        auditBucket: { bucket: { objectLockEnabled: false } },
      },
    });
    const acl = (s: typeof plain) =>
      s.resources.find((r) => r.type === 'aws:wafv2/webAcl:WebAcl')!.inputs.rules as Array<Record<string, any>>;
    expect(acl(changed).find((r) => r.name === 'rate-per-ip')!.statement.rateBasedStatement.limit).toBe(250);
    expect(acl(changed).map((r) => r.name)).toEqual(acl(plain).map((r) => r.name));
    const bucket = (s: typeof plain, name: string) =>
      s.resources.find((r) => r.type === 'aws:s3/bucket:Bucket' && r.name.includes(name))!.inputs;
    expect(bucket(changed, 'audit').objectLockEnabled).toBe(false);
    expect(bucket(plain, 'audit').objectLockEnabled).toBe(true);
    expect(bucket(changed, 'temp')).toEqual(bucket(plain, 'temp'));
    expect(changed.resources.map((r) => `${r.type}::${r.name}`)).toEqual(
      plain.resources.map((r) => `${r.type}::${r.name}`),
    );
  });

  it('cannot quietly undo a secure default: the policy pack refuses a table without the zone key', async () => {
    const s = await snapshotStack('prod-eu', {
      code: stubCode,
      transform: { usersTable: { table: { serverSideEncryption: { enabled: false } } } },
    });
    const results = await runPolicies(s);
    expect(results.find((r) => r.name === 'kms-encryption-at-rest')!.violations.map((v) => v.message)).toEqual([
      expect.stringContaining('is not encrypted with the zone'),
    ]);
  });

  it('reach each function', async () => {
    const s = await snapshotStack('dev', {
      code: stubCode,
      transform: {
        functions: {
          function: (args) => {
            args.memorySize = 1536;
          },
        },
      },
    });
    const functions = s.resources.filter((r) => r.type === 'aws:lambda/function:Function');
    expect(functions.map((f) => f.inputs.memorySize)).toEqual([1536, 1536, 1536, 1536]);
  });
});
