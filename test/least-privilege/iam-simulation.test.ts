import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { piiEncryptionContext } from '../../contract';
import { functionNames, type FunctionName } from '../../components/function-roles';
import { ciRoleName } from '../../components/ci-roles';
import { profileRecordFormat } from '../../handlers/domain/users/pii-cipher';
import { mockAccount, type StackSnapshot } from '../../policy/stack-snapshot';
import { zoneSnapshot } from '../support/stack-queries';
import { stacks } from '../../policy/stack-yaml';
import { recordedAwsCalls, type AwsCall } from '../support/aws-call-log';

/**
 * AWS's own evaluation, offline: every AWS call the runtime made while the platform tests ran
 * (recorded at its SDK clients, `support/aws-calls.ts`) is simulated against the policies each
 * stack really declares — the function role's identity policy, the key policy, the bucket policy —
 * with an IAM policy simulator (@cloud-copilot/iam-simulate, AGPL: a devDependency, never in the
 * Lambda bundle). Mocks accept any policy; this is where a policy that AWS would deny fails.
 */

/** Granted actions that no recorded runtime call needs, each with why it is granted anyway. */
const grantedWithoutACall: Record<string, string> = {
  'api logs:CreateLogStream': 'Lambda writes the function’s own logs with its role',
  'api logs:PutLogEvents': 'Lambda writes the function’s own logs with its role',
  'worker logs:CreateLogStream': 'Lambda writes the function’s own logs with its role',
  'worker logs:PutLogEvents': 'Lambda writes the function’s own logs with its role',
  'stream logs:CreateLogStream': 'Lambda writes the function’s own logs with its role',
  'stream logs:PutLogEvents': 'Lambda writes the function’s own logs with its role',
  'chat logs:CreateLogStream': 'Lambda writes the function’s own logs with its role',
  'chat logs:PutLogEvents': 'Lambda writes the function’s own logs with its role',
  'api s3:ListBucket': 'S3 answers a GetObject of a missing key with 404, not 403, only to a caller that may list',
  'worker s3:ListBucket': 'S3 answers a GetObject of a missing key with 404, not 403, only to a caller that may list',
  'stream dynamodb:DescribeStream': 'Lambda’s event source mapping reads the stream with the function’s role',
  'stream dynamodb:GetRecords': 'Lambda’s event source mapping reads the stream with the function’s role',
  'stream dynamodb:GetShardIterator': 'Lambda’s event source mapping reads the stream with the function’s role',
  'stream dynamodb:ListStreams': 'Lambda’s event source mapping reads the stream with the function’s role',
  'stream sqs:SendMessage':
    'Lambda sends a failed batch’s coordinates to the on-failure queue with the function’s role',
  'stream kms:Decrypt': 'Lambda decrypts the stream records of a table encrypted with the zone key',
  'api secretsmanager:GetSecretValue':
    'the Play Developer API key (test/unit/google-service-account.test.ts runs it against its own Secrets Manager stand-in)',
  'api kms:Decrypt#secret': 'the Play secret’s customer key, through Secrets Manager only',
};

interface Zone {
  snapshot: StackSnapshot;
  roleArn: Record<FunctionName, string>;
  identityPolicy: Record<FunctionName, unknown>;
  table: string;
  buckets: Record<'temp' | 'audit', { arn: string; policy: unknown }>;
  keys: Record<'data' | 'signing' | 'mac', { arn: string; policy: unknown }>;
  replicaKeys: Array<{ region: string; arn: string; policy: unknown }>;
}

function zoneOf(s: StackSnapshot): Zone {
  const find = (type: string, name: string) => {
    const found = s.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`${s.stack}: no ${type} ${name}`);
    return found;
  };
  const bucket = (classification: string) => {
    const b = s.resources.find(
      (r) => r.type === 'aws:s3/bucket:Bucket' && r.inputs.tags?.['data-classification'] === classification,
    )!;
    const policy = s.resources.find(
      (r) => r.type === 'aws:s3/bucketPolicy:BucketPolicy' && r.inputs.bucket === b.state.id,
    )!;
    return { arn: b.state.arn as string, policy: JSON.parse(policy.inputs.policy) };
  };
  const key = (name: string) => {
    const k = find('aws:kms/key:Key', name);
    return { arn: k.state.arn as string, policy: JSON.parse(k.inputs.policy) };
  };
  const fns = Object.fromEntries(functionNames.map((fn) => [fn, fn])) as Record<FunctionName, FunctionName>;
  return {
    snapshot: s,
    roleArn: mapValues(fns, (fn) => find('aws:iam/role:Role', `serenya-roles-${fn}`).state.arn),
    identityPolicy: mapValues(fns, (fn) =>
      JSON.parse(find('aws:iam/rolePolicy:RolePolicy', `serenya-functions-${fn}-policy`).inputs.policy),
    ),
    table: find('aws:dynamodb/table:Table', 'serenya-users-table').state.arn,
    buckets: { temp: bucket('phi-transient'), audit: bucket('audit') },
    keys: { data: key('serenya-keys-data'), signing: key('serenya-keys-signing'), mac: key('serenya-keys-email-mac') },
    replicaKeys: s.resources
      .filter((r) => r.type === 'aws:kms/replicaKey:ReplicaKey')
      .map((r) => ({ region: r.region!, arn: r.state.arn, policy: JSON.parse(r.inputs.policy) })),
  };
}

const mapValues = <K extends string, V, W>(o: Record<K, V>, f: (v: V) => W) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as V)])) as Record<K, W>;

interface Request {
  principal: string;
  action: string;
  resource: string;
  identityPolicy: unknown;
  resourcePolicy?: unknown;
  context?: Record<string, string>;
}

type PolicyDocument = { Statement: Array<{ Effect: string; Condition?: Record<string, Record<string, unknown>> }> };
const encryptionContextKey = /^kms:EncryptionContext:/i;

/**
 * The simulator ignores `kms:EncryptionContext:<key>` (the variable part of a KMS condition key may
 * hold colons, `serenya:attribute`), so a statement conditioned on it never matches there. Evaluated
 * here instead, with AWS's `StringEquals`: a statement whose context conditions the request meets
 * keeps its other conditions; one that does not is dropped (only Allow statements use them).
 */
function withEncryptionContext(policy: unknown, context: Record<string, string> = {}): unknown {
  if (!policy) return policy;
  const doc = structuredClone(policy) as PolicyDocument;
  doc.Statement = doc.Statement.flatMap((st) => {
    const conditions = Object.entries(st.Condition ?? {}).flatMap(([op, keys]) =>
      Object.keys(keys)
        .filter((k) => encryptionContextKey.test(k))
        .map((k) => [op, k] as const),
    );
    if (!conditions.length) return [st];
    if (st.Effect !== 'Allow' || conditions.some(([op]) => op !== 'StringEquals'))
      throw new Error('withEncryptionContext: only Allow … StringEquals');
    const equals = st.Condition!.StringEquals!;
    const met = conditions.every(([, k]) => [equals[k]].flat().includes(context[k]));
    if (!met) return [];
    for (const [, k] of conditions) delete equals[k];
    if (!Object.keys(equals).length) delete st.Condition!.StringEquals;
    return [st];
  });
  return doc;
}

async function simulate(r: Request) {
  r = {
    ...r,
    identityPolicy: withEncryptionContext(r.identityPolicy, r.context),
    resourcePolicy: withEncryptionContext(r.resourcePolicy, r.context),
  };
  const simulation: Simulation = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: mockAccount },
      contextVariables: { 'aws:SecureTransport': 'true', ...r.context },
    },
    identityPolicies: [{ name: 'identity', policy: r.identityPolicy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  return result.resultType === 'error' ? `error: ${JSON.stringify(result.errors)}` : result.overallResult;
}

/** The request(s) AWS evaluates for one recorded call, in the stack's deployed names. */
function requestsFor(zone: Zone, call: AwsCall): Request[] {
  const base = { principal: zone.roleArn[call.fn], identityPolicy: zone.identityPolicy[call.fn] };
  const region = zone.snapshot.config.homeRegion;
  const viaService = (service: string) => ({
    'kms:ViaService': `${service}.${region}.amazonaws.com`,
    'kms:CallerAccount': mockAccount,
  });
  const r = call.resource;
  switch (r.kind) {
    case 'table':
      return [{ ...base, action: call.action, resource: r.index ? `${zone.table}/index/${r.index}` : zone.table }];
    case 'bucket': {
      const bucket = zone.buckets[r.bucket];
      const object = call.action === 's3:ListBucket' ? bucket.arn : `${bucket.arn}/${r.key}`;
      const requests: Request[] = [
        {
          ...base,
          action: call.action,
          resource: object,
          resourcePolicy: bucket.policy,
          context: r.prefix ? { 's3:prefix': r.prefix } : {},
        },
      ];
      // SSE-KMS: S3 uses the caller's permission on the zone key to write and read the object.
      if (call.action === 's3:PutObject')
        requests.push({
          ...base,
          action: 'kms:GenerateDataKey',
          resource: zone.keys.data.arn,
          resourcePolicy: zone.keys.data.policy,
          context: viaService('s3'),
        });
      if (call.action === 's3:GetObject')
        requests.push({
          ...base,
          action: 'kms:Decrypt',
          resource: zone.keys.data.arn,
          resourcePolicy: zone.keys.data.policy,
          context: viaService('s3'),
        });
      return requests;
    }
    case 'key': {
      // The Encryption SDK hands KMS the message's encryption context; conditions on it are evaluated.
      const context = Object.fromEntries(
        Object.entries(r.context ?? {}).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]),
      );
      const key = zone.keys[r.key];
      return [
        {
          ...base,
          action: call.action,
          resource: key.arn,
          resourcePolicy: key.policy,
          context: { 'kms:CallerAccount': mockAccount, ...context },
        },
      ];
    }
    case 'model': {
      // The runtime invokes the zone's configured model (the tests' is the dev zone's). A geographic
      // profile is invoked in the home region and runs the model in any one of its regions.
      const { modelId, inferenceRegions } = zone.snapshot.config.bedrock;
      const model = modelId.slice(modelId.indexOf('.') + 1);
      return [
        `arn:aws:bedrock:${region}:${mockAccount}:inference-profile/${modelId}`,
        ...inferenceRegions.map((reg) => `arn:aws:bedrock:${reg}::foundation-model/${model}`),
      ].map((resource) => ({ ...base, action: call.action, resource }));
    }
    case 'secret': {
      const play = zone.snapshot.config.subscriptions.googlePlay;
      return play ? [{ ...base, action: call.action, resource: play.credentialsSecretArn }] : [];
    }
    case 'appleSecret': {
      const arn = zone.snapshot.config.identity.appleSignInSecretArn;
      return arn ? [{ ...base, action: call.action, resource: arn }] : [];
    }
  }
}

let calls: AwsCall[] = [];
const zones: Zone[] = [];

beforeAll(async () => {
  calls = recordedAwsCalls();
  zones.push(...(await Promise.all(stacks.map(zoneSnapshot))).map(zoneOf));
});

describe('the recording', () => {
  it('holds the calls of the platform tests (run the whole suite: npm test)', () => {
    const actions = new Set(calls.map((c) => `${c.fn} ${c.action}`));
    for (const expected of [
      'api dynamodb:PutItem',
      'api dynamodb:Query',
      'api kms:Sign',
      'api s3:DeleteObject',
      'worker bedrock:InvokeModel',
      'worker s3:PutObject',
      'stream s3:PutObject',
      'chat bedrock:InvokeModelWithResponseStream',
      'chat dynamodb:UpdateItem',
    ]) {
      expect(actions, 'no recording of the platform tests: run `npm test`, which runs them first').toContain(expected);
    }
  });
});

describe.each(stacks)('stack %s, evaluated as AWS evaluates it', (stack) => {
  const zone = () => zones.find((z) => z.snapshot.stack === stack)!;

  it('allows every AWS call the runtime made in the test suite, to the function that made it', async () => {
    const denied: string[] = [];
    // The Play key (test/unit/google-service-account.test.ts reads it through a client of its own) and the
    // Sign in with Apple key, which offline is handed to the client directly.
    const declared: AwsCall[] = [
      { fn: 'api', action: 'secretsmanager:GetSecretValue', resource: { kind: 'secret' } },
      { fn: 'api', action: 'secretsmanager:GetSecretValue', resource: { kind: 'appleSecret' } },
      { fn: 'stream', action: 'secretsmanager:GetSecretValue', resource: { kind: 'appleSecret' } },
    ];
    const requests = [...calls, ...declared].flatMap((call) => requestsFor(zone(), call).map((r) => ({ call, r })));
    const unique = new Map(
      requests.map((x) => [`${x.call.fn} ${x.r.action} ${x.r.resource} ${JSON.stringify(x.r.context ?? {})}`, x]),
    );
    for (const [label, { r }] of unique) {
      const outcome = await simulate(r);
      if (outcome !== 'Allowed') denied.push(`${label}: ${outcome}`);
    }
    expect(denied).toEqual([]);
    expect(unique.size).toBeGreaterThan(20);
  });

  it('lets an administrator deploying the stack use each key the way DynamoDB, S3 and SNS do at creation', async () => {
    const admin = {
      principal: `arn:aws:iam::${mockAccount}:role/deployer`,
      identityPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
    };
    const creation = [
      'kms:DescribeKey',
      'kms:CreateGrant',
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:ReEncryptFrom',
    ];
    const { homeRegion } = zone().snapshot.config;
    const uses = [
      ...['dynamodb', 's3', 'sns'].map((service) => ({ key: zone().keys.data, service, region: homeRegion })),
      ...zone().replicaKeys.map((key) => ({ key, service: 'dynamodb', region: key.region })),
    ];
    const denied: string[] = [];
    for (const { key, service, region } of uses) {
      for (const action of creation) {
        // A service's grant is for the resource it encrypts: KMS sets kms:GrantIsForAWSResource on its CreateGrant.
        const grant: Record<string, string> =
          action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {};
        const context = {
          'kms:ViaService': `${service}.${region}.amazonaws.com`,
          'kms:CallerAccount': mockAccount,
          ...grant,
        };
        const outcome = await simulate({ ...admin, action, resource: key.arn, resourcePolicy: key.policy, context });
        if (outcome !== 'Allowed') denied.push(`${action} via ${service} on ${key.arn}: ${outcome}`);
      }
    }
    expect(denied).toEqual([]);
    // Bounded: outside those services, the account's principals cannot use the data key directly.
    const direct = await simulate({
      ...admin,
      action: 'kms:Decrypt',
      resource: zone().keys.data.arn,
      resourcePolicy: zone().keys.data.policy,
      context: { 'kms:CallerAccount': mockAccount },
    });
    expect(direct).toBe('ImplicitlyDenied');
  });

  it('lets only the named administrators administer the keys, and the deploying role stays one of them', async () => {
    const everything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const administrator =
      zone().snapshot.config.keyAdministrators?.[0] ??
      `arn:aws:iam::${mockAccount}:role/${ciRoleName('deploy', stack)}`;
    const other = `arn:aws:iam::${mockAccount}:role/account-admin`;
    const keys = [...Object.values(zone().keys), ...zone().replicaKeys];
    const outcomes = async (principal: string, action: string, context: Record<string, string> = {}) =>
      Promise.all(
        keys.map((k) =>
          simulate({
            principal,
            identityPolicy: everything,
            action,
            resource: k.arn,
            resourcePolicy: k.policy,
            context,
          }),
        ),
      );
    // The next `pulumi up` updates every key policy with the deploying role.
    for (const action of ['kms:PutKeyPolicy', 'kms:GetKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:TagResource']) {
      expect(await outcomes(administrator, action), `${action} by the administrator`).toEqual(
        keys.map(() => 'Allowed'),
      );
    }
    // An account principal with every IAM permission still cannot rewrite a key policy or grant a key to itself.
    for (const action of ['kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:ScheduleKeyDeletion', 'kms:ReplicateKey']) {
      expect(await outcomes(other, action), `${action} by another principal`).toEqual(
        keys.map(() => 'ImplicitlyDenied'),
      );
    }
    // Nor the administrator a grant that is not an AWS service's for the resource it encrypts.
    expect(await outcomes(administrator, 'kms:CreateGrant')).toEqual(keys.map(() => 'ImplicitlyDenied'));
  });

  it('replicates the data key only into the zone’s regions', async () => {
    const administrator =
      zone().snapshot.config.keyAdministrators?.[0] ??
      `arn:aws:iam::${mockAccount}:role/${ciRoleName('deploy', stack)}`;
    const everything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const { data } = zone().keys;
    // ReplicateKey names the new replica's region, UpdatePrimaryRegion the new primary's.
    const regionKey: Record<string, string> = {
      'kms:ReplicateKey': 'kms:ReplicaRegion',
      'kms:UpdatePrimaryRegion': 'kms:PrimaryRegion',
    };
    const replicate = (action: string, region: string) =>
      simulate({
        principal: administrator,
        identityPolicy: everything,
        action,
        resource: data.arn,
        resourcePolicy: data.policy,
        context: { [regionKey[action]!]: region },
      });
    const outside = zone().snapshot.config.allowedRegions.some((r) => r.startsWith('eu-')) ? 'us-east-1' : 'eu-west-1';
    for (const action of ['kms:ReplicateKey', 'kms:UpdatePrimaryRegion']) {
      for (const region of zone().snapshot.config.allowedRegions)
        expect(await replicate(action, region), `${action} ${region}`).toBe('Allowed');
      expect(await replicate(action, outside), `${action} ${outside}`).toBe('ImplicitlyDenied');
    }
  });

  it('lets the worker open no personal data and the stream function only the Apple refresh token', async () => {
    const { data } = zone().keys;
    const open = (fn: FunctionName, context: Record<string, string>) =>
      simulate({
        principal: zone().roleArn[fn],
        identityPolicy: zone().identityPolicy[fn],
        action: 'kms:Decrypt',
        resource: data.arn,
        resourcePolicy: data.policy,
        context: {
          'kms:CallerAccount': mockAccount,
          ...Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])),
        },
      });
    const profile = { [piiEncryptionContext.format]: profileRecordFormat };
    const email = { [piiEncryptionContext.attribute]: 'email' };
    const appleToken = { [piiEncryptionContext.attribute]: 'apple_refresh_token' };
    expect(await open('api', profile)).toBe('Allowed');
    for (const context of [profile, email, appleToken, {}])
      expect(await open('worker', context), JSON.stringify(context)).toBe('ImplicitlyDenied');
    for (const context of [profile, email, {}])
      expect(await open('stream', context), JSON.stringify(context)).toBe('ImplicitlyDenied');
    expect(await open('stream', appleToken)).toBe('Allowed');
  });

  it('refuses a write to either bucket encrypted otherwise than with the zone key; one that names none gets the zone key', async () => {
    const zoneKey = zone().keys.data.arn;
    const write = (fn: FunctionName, bucket: 'temp' | 'audit', key: string, context: Record<string, string>) =>
      simulate({
        principal: zone().roleArn[fn],
        identityPolicy: zone().identityPolicy[fn],
        action: 's3:PutObject',
        resource: `${zone().buckets[bucket].arn}/${key}`,
        resourcePolicy: zone().buckets[bucket].policy,
        context,
      });
    const sse = 's3:x-amz-server-side-encryption';
    const keyId = 's3:x-amz-server-side-encryption-aws-kms-key-id';
    for (const [fn, bucket, key] of [
      ['worker', 'temp', 'jobs/u/j/result.json'],
      ['stream', 'audit', 'observability/e.json'],
    ] as const) {
      // The runtime names no encryption: the bucket's default, the zone key.
      expect(await write(fn, bucket, key, {}), `${bucket}: default`).toBe('Allowed');
      expect(await write(fn, bucket, key, { [sse]: 'aws:kms', [keyId]: zoneKey }), `${bucket}: the zone key`).toBe(
        'Allowed',
      );
      expect(await write(fn, bucket, key, { [sse]: 'AES256' }), `${bucket}: SSE-S3`).toBe('ExplicitlyDenied');
      expect(await write(fn, bucket, key, { [sse]: 'aws:kms' }), `${bucket}: aws/s3`).toBe('ExplicitlyDenied');
      expect(
        await write(fn, bucket, key, { [sse]: 'aws:kms', [keyId]: `arn:aws:kms:us-east-1:${mockAccount}:key/other` }),
        `${bucket}: another key`,
      ).toBe('ExplicitlyDenied');
    }
  });

  it('grants nothing no recorded call needs, or says why', () => {
    const needed = new Set(
      [
        ...calls,
        { fn: 'api', action: 'secretsmanager:GetSecretValue' },
        { fn: 'stream', action: 'secretsmanager:GetSecretValue' },
      ].flatMap((c) => [
        `${c.fn} ${c.action}`,
        ...(c.action === 's3:PutObject' ? [`${c.fn} kms:GenerateDataKey`] : []),
        ...(c.action === 's3:GetObject' ? [`${c.fn} kms:Decrypt`] : []),
      ]),
    );
    const granted = functionNames.flatMap((fn) =>
      (zone().identityPolicy[fn] as { Statement: Array<{ Sid: string; Action: string[] }> }).Statement.flatMap((st) =>
        st.Action.map((action) => `${fn} ${action}${st.Sid === 'PlayDeveloperApiKeyDecrypt' ? '#secret' : ''}`),
      ),
    );
    const unexplained = granted.filter((g) => !needed.has(g) && !grantedWithoutACall[g]);
    expect(unexplained, 'grant removed, or add the reason to grantedWithoutACall').toEqual([]);
    // The reasons are the report: `grantedWithoutACall` above, kept current both ways.
    for (const reason of Object.keys(grantedWithoutACall).filter(
      (g) => !g.includes('#') && !g.includes('secretsmanager'),
    ))
      expect(granted, `stale reason: ${reason}`).toContain(reason);
  });
});

describe('the simulator', () => {
  it('refuses what AWS refuses: the key policy of the first session locked the deployer out', async () => {
    const adminOnly = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${mockAccount}:root` },
          Action: ['kms:Create*', 'kms:Describe*', 'kms:Put*'],
          Resource: '*',
        },
      ],
    };
    const outcome = await simulate({
      principal: `arn:aws:iam::${mockAccount}:role/deployer`,
      identityPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      action: 'kms:Decrypt',
      resource: `arn:aws:kms:eu-west-1:${mockAccount}:key/k`,
      resourcePolicy: adminOnly,
      context: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com', 'kms:CallerAccount': mockAccount },
    });
    expect(outcome).toBe('ImplicitlyDenied');
  });

  it('refuses a ListStreams grant on a stream ARN, as the first session wrote it', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'dynamodb:ListStreams',
          Resource: `arn:aws:dynamodb:eu-west-1:${mockAccount}:table/t/stream/*`,
        },
      ],
    };
    expect(
      await simulate({
        principal: `arn:aws:iam::${mockAccount}:role/stream`,
        identityPolicy: policy,
        action: 'dynamodb:ListStreams',
        resource: '*',
      }),
    ).not.toBe('Allowed');
  });
});
