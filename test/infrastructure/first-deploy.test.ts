import { beforeAll, describe, expect, it } from 'vitest';
import { envVars } from '../../contract';
import { StackConfigError } from '../../components/stack-config';
import { parseLambdaConfig } from '../../handlers/core/config';
import { runPolicies } from '../../policy/policy-run';
import { snapshotStack, type StackSnapshot } from '../../policy/stack-snapshot';
import { stacks } from '../../policy/stack-yaml';
import { ofType, stubCode, zoneSnapshot } from '../support/stack-queries';

/**
 * What AWS would refuse at the first `pulumi up` that Pulumi's mocks accept: each test here names
 * the AWS rule it stands for. IAM and key policies are evaluated in `least-privilege/`.
 */
const one = (s: StackSnapshot, type: string) => {
  const [found, ...more] = ofType(s, type);
  if (!found || more.length) throw new Error(`expected one ${type}, found ${more.length + (found ? 1 : 0)}`);
  return found;
};
const statements = (s: StackSnapshot, policyName: string) =>
  JSON.parse(s.resources.find((r) => r.name === policyName)!.inputs.policy).Statement as Array<Record<string, any>>;
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: Error) => e,
  );

describe.each(stacks)('stack %s as AWS would take it', (stack) => {
  let s: StackSnapshot;
  beforeAll(async () => {
    s = await zoneSnapshot(stack);
  });

  it('gives every function an environment its own configuration parser accepts, as Lambda runs it', () => {
    const functions = ofType(s, 'aws:lambda/function:Function');
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      // Lambda adds AWS_REGION itself; everything else comes from the stack.
      const env = { ...fn.inputs.environment.variables, [envVars.region]: fn.region };
      expect(() => parseLambdaConfig(env), fn.name).not.toThrow();
      // Every variable the stack sets is one the runtime knows.
      for (const variable of Object.keys(fn.inputs.environment.variables))
        expect(Object.values(envVars), `${fn.name}: ${variable}`).toContain(variable);
    }
  });

  it('would fail that test if the stack dropped any variable the runtime requires', () => {
    const api = ofType(s, 'aws:lambda/function:Function').find((f) => f.name.endsWith('-api'))!;
    const full = { ...api.inputs.environment.variables, [envVars.region]: api.region };
    const refusedWithout = (variable: string) => {
      const { [variable]: _dropped, ...rest } = full;
      try {
        parseLambdaConfig(rest);
        return false;
      } catch {
        return true;
      }
    };
    const required = Object.keys(full).filter(refusedWithout);
    expect(required).toEqual(
      expect.arrayContaining([
        envVars.modelId,
        envVars.usersTable,
        envVars.tempBucket,
        envVars.dataKeyArn,
        envVars.signingKeyArn,
        envVars.issuer,
      ]),
    );
  });

  it('gives the worker a concurrency ceiling: model calls in flight across the zone are bounded', () => {
    const worker = ofType(s, 'aws:lambda/function:Function').find((f) => f.name.endsWith('-worker'))!;
    expect(worker.inputs.reservedConcurrentExecutions).toBe(s.config.concurrency.workerReserved);
    expect(s.config.concurrency.workerReserved).toBeGreaterThan(0);
  });

  it('orders what AWS needs in order: the creation-order policy passes', async () => {
    const results = await runPolicies(s);
    expect(results.find((r) => r.name === 'aws-creation-order')!.violations).toEqual([]);
  });

  it('grants ListStreams on "*" (it has no resource type) and lets S3 answer 404 for a missing job object', () => {
    const stream = statements(s, 'serenya-functions-stream-policy');
    expect(stream.find((st) => st.Action.includes('dynamodb:ListStreams'))!.Resource).toBe('*');
    for (const fn of ['api', 'worker']) {
      const list = statements(s, `serenya-functions-${fn}-policy`).find((st) => st.Action.includes('s3:ListBucket'));
      // Evaluated without a prefix for a GetObject of a missing key: a prefix condition would mean 403.
      expect(list, fn).toMatchObject({ Resource: expect.stringMatching(/^arn:aws:s3:::[^/]+$/) });
      expect(list!.Condition, fn).toBeUndefined();
    }
  });

  it('lets the worker invoke exactly the regions Bedrock says the profile routes to', () => {
    const bedrock = statements(s, 'serenya-functions-worker-policy').find((st) =>
      st.Action.includes('bedrock:InvokeModel'),
    )!;
    const regions = (bedrock.Resource as string[])
      .filter((a) => a.includes(':foundation-model/'))
      .map((a) => a.split(':')[3]);
    expect(regions.sort()).toEqual([...s.config.bedrock.inferenceRegions].sort());
  });
});

describe('first deploy of a production zone', () => {
  let eu: StackSnapshot;
  let us: StackSnapshot;
  beforeAll(async () => {
    [eu, us] = await Promise.all([zoneSnapshot('prod-eu'), zoneSnapshot('prod-us')]);
  });

  it.each(['prod-eu', 'prod-us'] as const)(
    '%s as shipped stops at preview, naming each value to set',
    async (stack) => {
      const error = await failure(snapshotStack(stack, { code: stubCode, asShipped: true }));
      expect(error).toBeInstanceOf(StackConfigError);
      expect(error!.message).toContain('serenya:domain.hostedZoneId: set this to the id of the Route 53 hosted zone');
      expect(error!.message).toContain(
        'serenya:subscriptions.googlePlay.credentialsSecretArn: set this to the full ARN',
      );
      // Values that deploy and then refuse every sign-in and every production notification.
      expect(error!.message).toContain(
        'serenya:identity.googleClientIds.0: set this to the app’s Google OAuth client id',
      );
      expect(error!.message).toContain('serenya:subscriptions.appStore.appAppleId: set this to the app’s Apple ID');
    },
  );

  it('refuses a Google client id that is not one Google issues, and production without the Sign in with Apple key', async () => {
    const identity = (change: Record<string, unknown>) => (c: Record<string, string>) => ({
      ...c,
      'serenya:identity': JSON.stringify({ ...JSON.parse(c['serenya:identity']!), ...change }),
    });
    const google = await failure(
      snapshotStack('prod-eu', {
        code: stubCode,
        changeConfig: identity({ googleClientIds: ['serenya.apps.googleusercontent.com'] }),
      }),
    );
    expect(google!.message).toContain(
      'serenya:identity.googleClientIds.0: a Google OAuth client id (<project number>-<id>.apps.googleusercontent.com',
    );
    const noAppleKey = await failure(
      snapshotStack('prod-us', { code: stubCode, changeConfig: identity({ appleSignInSecretArn: undefined }) }),
    );
    expect(noAppleKey!.message).toContain('serenya:identity: appleSignInSecretArn is required in production');
    const appleId = await failure(
      snapshotStack('prod-eu', {
        code: stubCode,
        changeConfig: (c) => ({
          ...c,
          'serenya:subscriptions': JSON.stringify({
            ...JSON.parse(c['serenya:subscriptions']!),
            appStore: { bundleId: 'health.serenya.app', environment: 'Production', appAppleId: 'the app' },
          }),
        }),
      }),
    );
    expect(appleId!.message).toContain('serenya:subscriptions.appStore.appAppleId: the app’s Apple ID, a number');
  });

  it('grants a customer managed key of the Sign in with Apple secret like the Play one: through Secrets Manager only', async () => {
    const secret = eu.config.identity.appleSignInSecretArn!;
    const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/apple-secret-key';
    const withKey = await snapshotStack('prod-eu', {
      code: stubCode,
      changeConfig: (c) => ({
        ...c,
        'serenya:identity': JSON.stringify({
          ...JSON.parse(c['serenya:identity']!),
          appleSignInSecretKmsKeyArn: keyArn,
        }),
      }),
    });
    for (const fn of ['api', 'stream']) {
      const granted = statements(withKey, `serenya-functions-${fn}-policy`);
      expect(granted.find((st) => st.Sid === 'SignInWithAppleKey')!.Resource, fn).toBe(secret);
      expect(
        granted.find((st) => st.Sid === 'SignInWithAppleKeyDecrypt'),
        fn,
      ).toEqual({
        Sid: 'SignInWithAppleKeyDecrypt',
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      });
    }
    const elsewhere = await failure(
      snapshotStack('prod-eu', {
        code: stubCode,
        changeConfig: (c) => ({
          ...c,
          'serenya:identity': JSON.stringify({
            ...JSON.parse(c['serenya:identity']!),
            appleSignInSecretKmsKeyArn: keyArn.replace('eu-west-1', 'eu-central-1'),
          }),
        }),
      }),
    );
    expect(elsewhere!.message).toContain(
      "appleSignInSecretKmsKeyArn is in eu-central-1; a secret's key lives in the secret's region (eu-west-1)",
    );
  });

  it('refuses AWS’s documentation account and a secret ARN without its -XXXXXX suffix', async () => {
    const withSecret = (arn: string) => (c: Record<string, string>) => {
      const subscriptions = JSON.parse(c['serenya:subscriptions']!);
      subscriptions.googlePlay.credentialsSecretArn = arn;
      return { ...c, 'serenya:subscriptions': JSON.stringify(subscriptions) };
    };
    const partial = await failure(
      snapshotStack('prod-eu', {
        code: stubCode,
        changeConfig: withSecret('arn:aws:secretsmanager:eu-west-1:111122223333:secret:serenya/google-play-api-key'),
      }),
    );
    expect(partial!.message).toContain('ending in the -XXXXXX suffix');
    const placeholder = await failure(
      snapshotStack('prod-eu', {
        code: stubCode,
        changeConfig: withSecret(
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:serenya/google-play-api-key-Ab12Cd',
        ),
      }),
    );
    expect(placeholder!.message).toContain('documentation placeholder');
  });

  it('grants the Play secret by its full ARN, and its customer key only through Secrets Manager', async () => {
    const api = statements(eu, 'serenya-functions-api-policy');
    expect(api.find((st) => st.Action.includes('secretsmanager:GetSecretValue'))!.Resource).toBe(
      eu.config.subscriptions.googlePlay!.credentialsSecretArn,
    );
    expect(api.find((st) => st.Sid === 'PlayDeveloperApiKeyDecrypt')).toBeUndefined();
    const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/play-secret-key';
    const withKey = await snapshotStack('prod-eu', {
      code: stubCode,
      changeConfig: (c) => {
        const subscriptions = JSON.parse(c['serenya:subscriptions']!);
        subscriptions.googlePlay.credentialsSecretKmsKeyArn = keyArn;
        return { ...c, 'serenya:subscriptions': JSON.stringify(subscriptions) };
      },
    });
    expect(
      statements(withKey, 'serenya-functions-api-policy').find((st) => st.Sid === 'PlayDeveloperApiKeyDecrypt'),
    ).toEqual({
      Sid: 'PlayDeveloperApiKeyDecrypt',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keyArn,
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
  });

  it('checks the hosted zone against Route 53 at preview', async () => {
    const other = await failure(
      snapshotStack('prod-eu', { code: stubCode, hostedZone: { name: 'example.org.', privateZone: false } }),
    );
    expect(other!.message).toContain('serves example.org, not api.eu.serenya.health and api.serenya.health');
    const privateZone = await failure(
      snapshotStack('prod-eu', { code: stubCode, hostedZone: { name: 'serenya.health.', privateZone: true } }),
    );
    expect(privateZone!.message).toContain('is a private hosted zone');
  });

  it('gives every DNS record exactly one owner across the zones, overwriting none', () => {
    const records = [eu, us].flatMap((s) => ofType(s, 'aws:route53/record:Record').map((r) => ({ stack: s.stack, r })));
    const identity = ({ r }: (typeof records)[number]) =>
      `${r.inputs.zoneId} ${r.state.name} ${r.inputs.type} ${r.inputs.setIdentifier ?? ''}`;
    const owners = new Map<string, string[]>();
    for (const record of records) owners.set(identity(record), [...(owners.get(identity(record)) ?? []), record.stack]);
    expect([...owners].filter(([, stacks]) => stacks.length > 1)).toEqual([]);
    for (const { r } of records) expect(r.inputs.allowOverwrite, r.name).toBeUndefined();
    // prod-us validates the global name through prod-eu's record, which it names but does not own.
    const usValidation = one(us, 'aws:acm/certificateValidation:CertificateValidation');
    expect(usValidation.inputs.validationRecordFqdns).toContain(`_x.${us.config.domain!.globalName}.`);
  });

  it('refuses a profile that Bedrock says routes outside the zone', async () => {
    const error = await failure(
      snapshotStack('prod-eu', { code: stubCode, profileRegions: ['eu-west-1', 'me-central-1'] }),
    );
    expect(error!.message).toContain('now routes to me-central-1, outside this zone');
  });

  it('orders the stage after the account setting — and the policy would catch it if it were not', async () => {
    const stage = one(eu, 'aws:apigateway/stage:Stage');
    const account = one(eu, 'aws:apigateway/account:Account');
    expect(stage.dependencies).toContain(account.name);
    const unordered = {
      ...eu,
      resources: eu.resources.map((r) =>
        r === stage ? { ...r, dependencies: r.dependencies.filter((d) => d !== account.name) } : r,
      ),
    };
    const violations = (await runPolicies(unordered)).find((p) => p.name === 'aws-creation-order')!.violations;
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringContaining('the account’s CloudWatch Logs role is set'),
    ]);
  });

  it('manages the API Gateway logging role with AWS’s policy, once per account and region', async () => {
    const attachments = ofType(eu, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment').map((a) => a.inputs.policyArn);
    expect(attachments).toContain('arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs');
    const relying = await snapshotStack('prod-eu', {
      code: stubCode,
      changeConfig: (c) => ({ ...c, 'serenya:managesApiGatewayAccount': 'false' }),
    });
    expect(ofType(relying, 'aws:apigateway/account:Account')).toEqual([]);
    expect((await runPolicies(relying)).flatMap((p) => p.violations)).toEqual([]);
  });
});
