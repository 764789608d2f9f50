import { AccountClient, GetRegionOptStatusCommand } from '@aws-sdk/client-account';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import {
  BedrockClient,
  GetAccountDataRetentionCommand,
  GetFoundationModelAvailabilityCommand,
  GetInferenceProfileCommand,
  GetModelInvocationLoggingConfigurationCommand,
} from '@aws-sdk/client-bedrock';
import { IAMClient, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { CaaRecord } from 'node:dns';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StackConfig } from '../../components/stack-config';
import { formatChecklist } from '../../deploy/preflight';
import {
  awsClients,
  NoCredentialsError,
  plannedChecks,
  runPreflight,
  type PreflightDeps,
  type PublicDns,
} from '../../deploy/preflight-checks';
import { withDeployValues } from '../../policy/stack-snapshot';
import { stackFileConfig } from '../../policy/stack-yaml';

/** A stack's configuration with its SET-ME values filled in, as a platform engineer runs preflight. */
const filled = (stack: 'prod-eu' | 'prod-us') => stackFileConfig(stack, (c) => withDeployValues(stack, c));

const mocks = {
  sts: mockClient(STSClient),
  route53: mockClient(Route53Client),
  lambda: mockClient(LambdaClient),
  apigateway: mockClient(APIGatewayClient),
  bedrock: mockClient(BedrockClient),
  secrets: mockClient(SecretsManagerClient),
  iam: mockClient(IAMClient),
  account: mockClient(AccountClient),
};
// The clients' prototypes are stubbed for this worker: later files must meet the real SDK.
afterAll(() => {
  for (const m of Object.values(mocks)) m.restore();
});
const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
const dnsError = (code: string) => Object.assign(new Error(`query ${code}`), { code });

/** Public DNS as the test sets it: never the network. A name without an answer does not exist. */
const dns = { ns: new Map<string, string[]>(), caa: new Map<string, CaaRecord[]>() };
const publicDns: PublicDns = {
  resolveNs: async (name) => dns.ns.get(name) ?? Promise.reject(dnsError('ENOTFOUND')),
  resolveCaa: async (name) => dns.caa.get(name) ?? Promise.reject(dnsError('ENODATA')),
};
const deps = (cli: string | undefined = '3.300.0'): PreflightDeps => ({
  clients: awsClients,
  dns: publicDns,
  pulumiCliVersion: async () => cli,
  pulumiSdkVersion: '3.270.0',
});

const nameServers = ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.co.uk', 'ns-3.awsdns-03.com', 'ns-4.awsdns-04.net'];
const validationRecord = {
  Name: '_0a1b2c.api.serenya.health.',
  Type: 'CNAME' as const,
  TTL: 300,
  ResourceRecords: [{ Value: '_9f8e7d.xlfgrmvvlj.acm-validations.aws.' }],
};
const profileModels = (regions: string[]) =>
  regions.map((r) => ({ modelArn: `arn:aws:bedrock:${r}::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0` }));

/** An account where everything is as `stack` needs it, on its first deploy. */
function healthyAccount(stack: string, config: StackConfig) {
  mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333' });
  mocks.account
    .on(GetRegionOptStatusCommand)
    .callsFake((input: { RegionName: string }) => ({ RegionName: input.RegionName, RegionOptStatus: 'ENABLED' }));
  mocks.route53.on(GetHostedZoneCommand).resolves({
    HostedZone: {
      Id: config.domain!.hostedZoneId,
      Name: 'serenya.health.',
      CallerReference: 'x',
      Config: { PrivateZone: false },
    },
    DelegationSet: { NameServers: nameServers },
  });
  mocks.route53.on(ListResourceRecordSetsCommand).resolves({
    ResourceRecordSets: [
      { Name: 'api.serenya.health.', Type: 'A' },
      validationRecord,
      { Name: 'api.eu.serenya.health.', Type: 'A' },
    ],
    IsTruncated: false,
    MaxItems: 100,
  });
  dns.ns.clear();
  dns.caa.clear();
  // What resolvers answer: the registrar's delegation, in their own case and order.
  dns.ns.set(
    'serenya.health',
    [...nameServers].reverse().map((n) => n.toUpperCase()),
  );
  mocks.lambda
    .on(GetAccountSettingsCommand)
    .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  mocks.lambda.on(GetFunctionConcurrencyCommand).rejects(awsError('ResourceNotFoundException', 'Function not found'));
  mocks.apigateway.on(GetAccountCommand).resolves({});
  mocks.iam.on(ListRoleTagsCommand).resolves({ Tags: [{ Key: 'stack', Value: stack }], IsTruncated: false });
  mocks.bedrock
    .on(GetInferenceProfileCommand)
    .resolves({ inferenceProfileId: config.bedrock.modelId, models: profileModels(config.bedrock.inferenceRegions) });
  mocks.bedrock.on(GetFoundationModelAvailabilityCommand).resolves({
    modelId: 'anthropic.claude-haiku-4-5-20251001-v1:0',
    authorizationStatus: 'AUTHORIZED',
    entitlementAvailability: 'AVAILABLE',
    regionAvailability: 'AVAILABLE',
    agreementAvailability: { status: 'AVAILABLE' },
  });
  mocks.bedrock.on(GetAccountDataRetentionCommand).resolves({ mode: 'none' });
  mocks.bedrock.on(GetModelInvocationLoggingConfigurationCommand).resolves({});
  mocks.secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => ({ ARN: input.SecretId }));
}
const failedChecks = (results: Awaited<ReturnType<typeof runPreflight>>) =>
  Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.check, r]));

describe('npm run preflight', () => {
  let config: StackConfig;
  beforeEach(() => {
    for (const m of Object.values(mocks)) m.reset();
    config = filled('prod-eu');
    healthyAccount('prod-eu', config);
  });
  afterEach(() => {
    for (const m of Object.values(mocks)) m.reset();
  });

  it('passes an account that has everything, checking Bedrock in every region of the zone’s profile', async () => {
    const results = await runPreflight('prod-eu', config, deps());
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const regions = config.bedrock.inferenceRegions;
    expect(mocks.bedrock.commandCalls(GetFoundationModelAvailabilityCommand)).toHaveLength(regions.length);
    expect(mocks.bedrock.commandCalls(GetAccountDataRetentionCommand)).toHaveLength(regions.length);
    expect(mocks.bedrock.commandCalls(GetModelInvocationLoggingConfigurationCommand)).toHaveLength(regions.length);
    expect(await Promise.all(mocks.bedrock.calls().map((c) => (c.thisValue as BedrockClient).config.region()))).toEqual(
      expect.arrayContaining(regions),
    );
    expect(mocks.bedrock.commandCalls(GetFoundationModelAvailabilityCommand)[0]!.args[0].input.modelId).toBe(
      'anthropic.claude-haiku-4-5-20251001-v1:0',
    );
    expect(formatChecklist('prod-eu', results)).toContain('All checks passed');
  });

  it('names each failure with its fix', async () => {
    mocks.route53.on(GetHostedZoneCommand).resolves({
      HostedZone: { Id: 'Z', Name: 'example.org.', CallerReference: 'x' },
      DelegationSet: { NameServers: [] },
    });
    mocks.lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    mocks.bedrock.on(GetAccountDataRetentionCommand).resolves({ mode: 'default' });
    mocks.bedrock
      .on(GetModelInvocationLoggingConfigurationCommand)
      .resolves({ loggingConfig: { textDataDeliveryEnabled: true } });
    mocks.bedrock.on(GetFoundationModelAvailabilityCommand).resolves({
      modelId: 'm',
      authorizationStatus: 'NOT_AUTHORIZED',
      entitlementAvailability: 'AVAILABLE',
      regionAvailability: 'AVAILABLE',
      agreementAvailability: { status: 'NOT_AVAILABLE' },
    });
    mocks.secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => ({
      ARN: input.SecretId,
      KmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/custom',
    }));
    const results = await runPreflight('prod-eu', config, deps('3.100.0'));
    const failed = failedChecks(results);
    expect(failed['hosted zone']!.detail).toContain('serves example.org');
    expect(failed['Lambda concurrency in eu-west-1']!.fix).toContain('L-B99A9384');
    expect(failed['Bedrock data retention in eu-west-1']!.fix).toContain('mode "none"');
    expect(failed['Bedrock invocation logging in eu-central-1']!.fix).toBe(
      'aws bedrock delete-model-invocation-logging-configuration --region eu-central-1',
    );
    expect(failed['Bedrock access in eu-west-3']!.fix).toContain('use-case form');
    expect(failed['Play Developer API secret']!.fix).toContain('credentialsSecretKmsKeyArn');
    expect(failed['Pulumi CLI']!.detail).toContain('older than the SDK');
    expect(formatChecklist('prod-eu', results)).toMatch(/FAIL {2}hosted zone.*\n {8}fix: /);
  });

  it('checks the API Gateway logging role where another stack manages it', async () => {
    const results = await runPreflight('prod-eu', { ...config, managesApiGatewayAccount: false }, deps());
    expect(results.find((r) => r.check === 'API Gateway logging role in eu-west-1')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('managesApiGatewayAccount'),
    });
  });

  it('refuses to manage the API Gateway logging role another stack already set (destroying either would reset it)', async () => {
    const role = 'arn:aws:iam::111122223333:role/serenya-api-account-logs-1a2b3c4';
    mocks.apigateway.on(GetAccountCommand).resolves({ cloudwatchRoleArn: role });
    mocks.iam.on(ListRoleTagsCommand).resolves({ Tags: [{ Key: 'stack', Value: 'dev' }] });
    const taken = failedChecks(await runPreflight('prod-eu', config, deps()))['API Gateway logging role in eu-west-1'];
    expect(taken).toMatchObject({
      detail: expect.stringContaining('stack dev'),
      fix: expect.stringContaining('serenya:managesApiGatewayAccount: false'),
    });
    expect(mocks.iam.commandCalls(ListRoleTagsCommand)[0]!.args[0].input.RoleName).toBe(
      'serenya-api-account-logs-1a2b3c4',
    );
    // Its own role, on a re-deploy, passes.
    mocks.iam.on(ListRoleTagsCommand).resolves({ Tags: [{ Key: 'stack', Value: 'prod-eu' }] });
    expect(
      failedChecks(await runPreflight('prod-eu', config, deps()))['API Gateway logging role in eu-west-1'],
    ).toBeUndefined();
  });

  it('counts the stack’s own reservations once on a re-deploy', async () => {
    // 300 unreserved; the stack reserves 250. A first deploy leaves 50: refused.
    mocks.lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 300 } });
    const first = failedChecks(await runPreflight('prod-eu', config, deps()))['Lambda concurrency in eu-west-1'];
    expect(first).toMatchObject({
      detail: expect.stringContaining('would leave 50'),
      fix: expect.stringContaining('at least 1050'),
    });
    // The same numbers on a re-deploy: the 250 are already the stack's, 300 stay unreserved.
    mocks.lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'serenya-prod-eu-api' })
      .resolves({ ReservedConcurrentExecutions: 200 });
    mocks.lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'serenya-prod-eu-worker' })
      .resolves({ ReservedConcurrentExecutions: 50 });
    const again = (await runPreflight('prod-eu', config, deps())).find(
      (r) => r.check === 'Lambda concurrency in eu-west-1',
    );
    expect(again).toMatchObject({
      ok: true,
      detail: '300 of 1000 unreserved; the stack reserves 250 (holds 250 already)',
    });
  });

  it('names the opt-in regions of the inference profile and fails while one is not enabled', async () => {
    expect(plannedChecks(config)).toContain(
      'every region the zone uses is enabled for the account (eu-south-1, eu-south-2 are opt-in regions: enable them first)',
    );
    mocks.account
      .on(GetRegionOptStatusCommand, { RegionName: 'eu-south-2' })
      .resolves({ RegionName: 'eu-south-2', RegionOptStatus: 'DISABLED' });
    const failed = failedChecks(await runPreflight('prod-eu', config, deps()))['regions enabled'];
    expect(failed).toMatchObject({
      detail: 'eu-south-2 is disabled',
      fix: expect.stringContaining('aws account enable-region --region-name eu-south-2'),
    });
    expect(mocks.account.commandCalls(GetRegionOptStatusCommand).map((c) => c.args[0].input.RegionName)).toEqual(
      expect.arrayContaining(['eu-west-1', 'eu-central-1', 'eu-south-1']),
    );
  });

  it('checks a customer managed key of the Apple secret like the Play one', async () => {
    const appleSecret = config.identity.appleSignInSecretArn!;
    const key = 'arn:aws:kms:eu-west-1:111122223333:key/apple';
    mocks.secrets.on(DescribeSecretCommand, { SecretId: appleSecret }).resolves({ ARN: appleSecret, KmsKeyId: key });
    expect(failedChecks(await runPreflight('prod-eu', config, deps()))['Sign in with Apple key secret']).toMatchObject({
      detail: `encrypted with ${key}, which the stack does not grant`,
      fix: "set serenya:identity.appleSignInSecretKmsKeyArn to that key's ARN",
    });
    const granted = { ...config, identity: { ...config.identity, appleSignInSecretKmsKeyArn: key } };
    expect(
      failedChecks(await runPreflight('prod-eu', granted, deps()))['Sign in with Apple key secret'],
    ).toBeUndefined();
  });

  it('says what it would check when there are no credentials', async () => {
    mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    await expect(runPreflight('prod-eu', config, deps())).rejects.toBeInstanceOf(NoCredentialsError);
    const planned = plannedChecks(config);
    expect(planned).toEqual(
      expect.arrayContaining([
        expect.stringContaining('data retention is "none" in eu-west-1, eu-west-3'),
        expect.stringContaining('invocation logging is off'),
      ]),
    );
  });
});

describe('preflight of the certificates', () => {
  beforeEach(() => {
    for (const m of Object.values(mocks)) m.reset();
  });

  it('fails when the registrar delegates the domain elsewhere than the hosted zone, naming its name servers', async () => {
    const config = filled('prod-eu');
    healthyAccount('prod-eu', config);
    dns.ns.set('serenya.health', ['ns1.old-registrar-dns.example', 'ns2.old-registrar-dns.example']);
    const failed = failedChecks(await runPreflight('prod-eu', config, deps()))['domain delegation'];
    expect(failed!.detail).toContain(
      'serenya.health is delegated to ns1.old-registrar-dns.example, ns2.old-registrar-dns.example',
    );
    expect(failed!.fix).toBe(
      `at the registrar of serenya.health (or in its parent zone, for a subdomain), set its name servers to ${[...nameServers].sort().join(', ')}`,
    );
    dns.ns.delete('serenya.health');
    expect(failedChecks(await runPreflight('prod-eu', config, deps()))['domain delegation']!.detail).toBe(
      'serenya.health does not resolve (ENOTFOUND): ACM cannot validate',
    );
  });

  it('fails when a CAA record, at the name or the closest ancestor that has one, does not allow Amazon', async () => {
    const config = filled('prod-eu');
    healthyAccount('prod-eu', config);
    dns.caa.set('serenya.health', [
      { critical: 0, issue: 'letsencrypt.org' },
      { critical: 0, iodef: 'mailto:security@serenya.health' },
    ]);
    const failed = failedChecks(await runPreflight('prod-eu', config, deps())).CAA;
    expect(failed!.detail).toBe(
      'ACM may not issue for api.eu.serenya.health (CAA at serenya.health allows only letsencrypt.org); api.serenya.health (CAA at serenya.health allows only letsencrypt.org)',
    );
    expect(failed!.fix).toContain('0 issue "amazon.com"');
    // The closest record set decides: one allowing Amazon at the global name is enough there.
    dns.caa.set('api.serenya.health', [{ critical: 0, issue: 'amazontrust.com; cansignhttpexchanges=yes' }]);
    expect(failedChecks(await runPreflight('prod-eu', config, deps())).CAA!.detail).toBe(
      'ACM may not issue for api.eu.serenya.health (CAA at serenya.health allows only letsencrypt.org)',
    );
    dns.caa.set('serenya.health', [
      { critical: 0, issue: 'amazon.com' },
      { critical: 0, issue: 'letsencrypt.org' },
    ]);
    expect(failedChecks(await runPreflight('prod-eu', config, deps())).CAA).toBeUndefined();
  });

  it('fails, for a stack that does not own it, when the global name’s validation record is missing', async () => {
    const config = filled('prod-us');
    expect(config.domain!.ownsGlobalValidationRecord).toBe(false);
    healthyAccount('prod-us', config);
    expect(failedChecks(await runPreflight('prod-us', config, deps()))).toEqual({});
    expect(mocks.route53.commandCalls(ListResourceRecordSetsCommand)[0]!.args[0].input).toMatchObject({
      StartRecordName: 'api.serenya.health',
    });
    // Only the zone name's own validation record (from an earlier deploy) follows: it validates nothing here.
    const zoneNameRecord = { ...validationRecord, Name: '_5e6f7a.api.us.serenya.health.' };
    mocks.route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [{ Name: 'api.serenya.health.', Type: 'A' }, zoneNameRecord],
      IsTruncated: false,
      MaxItems: 100,
    });
    const failed = failedChecks(await runPreflight('prod-us', config, deps()))[
      'ACM validation record of api.serenya.health'
    ];
    expect(failed!.fix).toContain('ownsGlobalValidationRecord: true first (prod-eu)');
    // The owner does not look for it: it creates it.
    const eu = filled('prod-eu');
    healthyAccount('prod-eu', eu);
    mocks.route53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ResourceRecordSets: [], IsTruncated: false, MaxItems: 100 });
    expect(failedChecks(await runPreflight('prod-eu', eu, deps()))).toEqual({});
  });
});

describe('preflight of the inference profile (the prod-us decision)', () => {
  let config: StackConfig;
  beforeEach(() => {
    for (const m of Object.values(mocks)) m.reset();
    config = filled('prod-us');
    healthyAccount('prod-us', config);
  });

  it('allows prod-us the four US commercial regions, which the US profile routes to', async () => {
    expect(config.allowedRegions).toEqual(['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2']);
    mocks.bedrock
      .on(GetInferenceProfileCommand)
      .resolves({ models: profileModels(['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2']) });
    const results = await runPreflight('prod-us', config, deps());
    expect(results.find((r) => r.check === 'Bedrock inference profile')).toEqual({
      check: 'Bedrock inference profile',
      ok: true,
      detail: 'routes to us-east-1, us-east-2, us-west-1, us-west-2',
    });
    const asked = mocks.bedrock.commandCalls(GetInferenceProfileCommand)[0]!;
    expect(asked.args[0].input).toEqual({ inferenceProfileIdentifier: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' });
    expect(await (asked.thisValue as BedrockClient).config.region()).toBe('us-east-1');
  });

  it('fails a profile that leaves the zone (Canada is not US), before any deploy', async () => {
    mocks.bedrock
      .on(GetInferenceProfileCommand)
      .resolves({ models: profileModels(['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1']) });
    const failed = failedChecks(await runPreflight('prod-us', config, deps()))['Bedrock inference profile'];
    expect(failed!.detail).toBe(
      'us.anthropic.claude-haiku-4-5-20251001-v1:0 routes to ca-central-1, us-east-1, us-east-2, us-west-1, us-west-2; ca-central-1 is outside allowedRegions (us-east-1, us-east-2, us-west-1, us-west-2)',
    );
    expect(failed!.fix).toContain('compliance owner');
  });

  it('fails a profile whose regions the stack does not declare, so Bedrock is checked wherever it runs', async () => {
    const narrower = {
      ...config,
      bedrock: { ...config.bedrock, inferenceRegions: ['us-east-1', 'us-east-2', 'us-west-2'] },
    };
    const failed = failedChecks(await runPreflight('prod-us', narrower, deps()))['Bedrock inference profile'];
    expect(failed!.fix).toBe(
      'set serenya:bedrock.inferenceRegions to [us-east-1, us-east-2, us-west-1, us-west-2], so preflight checks Bedrock in every region the profile uses',
    );
  });
});
