import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import {
  BedrockClient,
  GetAccountDataRetentionCommand,
  GetFoundationModelAvailabilityCommand,
  GetModelInvocationLoggingConfigurationCommand,
} from '@aws-sdk/client-bedrock';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StackConfig } from '../components/stack-config';
import { formatChecklist } from '../deploy/preflight';
import { awsClients, NoCredentialsError, plannedChecks, runPreflight, type PreflightDeps } from '../deploy/preflight-checks';
import { withDeployValues } from '../policy/stack-snapshot';
import { stackFileConfig } from '../policy/stack-yaml';

/** prod-eu's configuration with its SET-ME values filled in, as a platform engineer runs preflight. */
const prodEu = () => stackFileConfig('prod-eu', (c) => withDeployValues('prod-eu', c));

const mocks = {
  sts: mockClient(STSClient),
  route53: mockClient(Route53Client),
  lambda: mockClient(LambdaClient),
  apigateway: mockClient(APIGatewayClient),
  bedrock: mockClient(BedrockClient),
  secrets: mockClient(SecretsManagerClient),
};
const deps = (cli: string | undefined = '3.300.0'): PreflightDeps => ({ clients: awsClients, pulumiCliVersion: async () => cli, pulumiSdkVersion: '3.270.0' });

/** An account where everything is as the stack needs it. */
function healthyAccount(config: StackConfig) {
  mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333' });
  mocks.route53.on(GetHostedZoneCommand).resolves({ HostedZone: { Id: config.domain!.hostedZoneId, Name: 'serenya.health.', CallerReference: 'x', Config: { PrivateZone: false } }, DelegationSet: { NameServers: [] } });
  mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  mocks.apigateway.on(GetAccountCommand).resolves({ cloudwatchRoleArn: 'arn:aws:iam::111122223333:role/apigw-logs' });
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

describe('npm run preflight', () => {
  let config: StackConfig;
  beforeEach(() => {
    Object.values(mocks).forEach((m) => m.reset());
    config = prodEu();
    healthyAccount(config);
  });
  afterEach(() => Object.values(mocks).forEach((m) => m.reset()));

  it('passes an account that has everything, checking Bedrock in every region of the zone’s profile', async () => {
    const results = await runPreflight(config, deps());
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const regions = config.bedrock.inferenceRegions;
    expect(mocks.bedrock.commandCalls(GetFoundationModelAvailabilityCommand)).toHaveLength(regions.length);
    expect(mocks.bedrock.commandCalls(GetAccountDataRetentionCommand)).toHaveLength(regions.length);
    expect(mocks.bedrock.commandCalls(GetModelInvocationLoggingConfigurationCommand)).toHaveLength(regions.length);
    expect(await Promise.all(mocks.bedrock.calls().map((c) => (c.thisValue as BedrockClient).config.region()))).toEqual(expect.arrayContaining(regions));
    expect(mocks.bedrock.commandCalls(GetFoundationModelAvailabilityCommand)[0]!.args[0].input.modelId).toBe('anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(formatChecklist('prod-eu', results)).toContain('All checks passed');
  });

  it('names each failure with its fix', async () => {
    mocks.route53.on(GetHostedZoneCommand).resolves({ HostedZone: { Id: 'Z', Name: 'example.org.', CallerReference: 'x' }, DelegationSet: { NameServers: [] } });
    mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    mocks.bedrock.on(GetAccountDataRetentionCommand).resolves({ mode: 'default' });
    mocks.bedrock.on(GetModelInvocationLoggingConfigurationCommand).resolves({ loggingConfig: { textDataDeliveryEnabled: true } });
    mocks.bedrock.on(GetFoundationModelAvailabilityCommand).resolves({ modelId: 'm', authorizationStatus: 'NOT_AUTHORIZED', entitlementAvailability: 'AVAILABLE', regionAvailability: 'AVAILABLE', agreementAvailability: { status: 'NOT_AVAILABLE' } });
    mocks.secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => ({ ARN: input.SecretId, KmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/custom' }));
    const results = await runPreflight(config, deps('3.100.0'));
    const failed = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.check, r]));
    expect(failed['hosted zone']!.detail).toContain('serves example.org');
    expect(failed['Lambda concurrency in eu-west-1']!.fix).toContain('L-B99A9384');
    expect(failed['Bedrock data retention in eu-west-1']!.fix).toContain('mode "none"');
    expect(failed['Bedrock invocation logging in eu-central-1']!.fix).toBe('aws bedrock delete-model-invocation-logging-configuration --region eu-central-1');
    expect(failed['Bedrock access in eu-west-3']!.fix).toContain('use-case form');
    expect(failed['Play Developer API secret']!.fix).toContain('credentialsSecretKmsKeyArn');
    expect(failed['Pulumi CLI']!.detail).toContain('older than the SDK');
    expect(formatChecklist('prod-eu', results)).toMatch(/FAIL {2}hosted zone.*\n {8}fix: /);
  });

  it('checks the API Gateway logging role only where another stack manages it', async () => {
    await runPreflight(config, deps());
    expect(mocks.apigateway.calls()).toHaveLength(0);
    mocks.apigateway.on(GetAccountCommand).resolves({});
    const results = await runPreflight({ ...config, managesApiGatewayAccount: false }, deps());
    expect(results.find((r) => r.check === 'API Gateway logging role in eu-west-1')).toMatchObject({ ok: false, fix: expect.stringContaining('managesApiGatewayAccount') });
  });

  it('says what it would check when there are no credentials', async () => {
    mocks.sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await expect(runPreflight(config, deps())).rejects.toBeInstanceOf(NoCredentialsError);
    const planned = plannedChecks(config);
    expect(planned).toEqual(expect.arrayContaining([expect.stringContaining('data retention is "none" in eu-west-1, eu-west-3'), expect.stringContaining('invocation logging is off')]));
  });
});
