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
import { profileGeography } from '../components/bedrock-arns';
import type { StackConfig } from '../components/stack-config';

/** One line of the checklist: what was checked, and the fix when it failed. */
export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** Lambda refuses a reservation that leaves fewer unreserved executions than this. */
export const lambdaUnreservedMinimum = 100;

/** What preflight checks, for `--help` and for a run without credentials. */
export function plannedChecks(config: StackConfig): string[] {
  const regions = inferenceRegions(config).join(', ');
  return [
    'AWS credentials for the zone’s account (sts:GetCallerIdentity)',
    ...(config.domain ? [`the hosted zone ${config.domain.hostedZoneId} exists, is public and serves ${config.domain.zoneName} and ${config.domain.globalName}`] : []),
    `Lambda's concurrency quota in ${config.homeRegion} leaves ${lambdaUnreservedMinimum} unreserved after the stack's reservations`,
    ...(config.managesApiGatewayAccount ? [] : [`API Gateway's CloudWatch Logs role is set in ${config.homeRegion} (another stack manages it)`]),
    `Bedrock model access and the Marketplace agreement for ${config.bedrock.modelId} in ${regions}`,
    `Bedrock data retention is "none" in ${regions}`,
    `Bedrock model invocation logging is off in ${regions}`,
    ...(config.subscriptions.googlePlay ? ['the Play Developer API secret exists at its full ARN, with the key the stack grants'] : []),
    ...(config.identity.appleSignInSecretArn ? ['the Sign in with Apple key secret exists at its full ARN'] : []),
    'the Pulumi CLI is installed, no older than the Pulumi SDK this program uses',
  ];
}

/** The regions where the zone's model runs: the profile's, or the home region for a bare model id. */
const inferenceRegions = (c: StackConfig) => (profileGeography(c.bedrock.modelId) ? c.bedrock.inferenceRegions : [c.homeRegion]);
const baseModelId = (modelId: string) => (profileGeography(modelId) ? modelId.slice(modelId.indexOf('.') + 1) : modelId);

/** AWS clients by region; tests mock them (aws-sdk-client-mock), the CLI uses the real ones. */
export interface PreflightDeps {
  clients: {
    sts(region: string): STSClient;
    route53(): Route53Client;
    lambda(region: string): LambdaClient;
    apigateway(region: string): APIGatewayClient;
    bedrock(region: string): BedrockClient;
    secrets(region: string): SecretsManagerClient;
  };
  /** `pulumi version`, or undefined when the CLI is not installed. */
  pulumiCliVersion(): Promise<string | undefined>;
  /** The `@pulumi/pulumi` SDK version this program runs. */
  pulumiSdkVersion: string;
}

export const awsClients: PreflightDeps['clients'] = {
  sts: (region) => new STSClient({ region }),
  route53: () => new Route53Client({ region: 'us-east-1' }),
  lambda: (region) => new LambdaClient({ region }),
  apigateway: (region) => new APIGatewayClient({ region }),
  bedrock: (region) => new BedrockClient({ region }),
  secrets: (region) => new SecretsManagerClient({ region }),
};

/** Says what a failed call means for the check: a missing permission of the caller, or AWS's own message. */
const failure = (check: string, error: unknown, fix?: string): CheckResult => {
  const e = error as { name?: string; message?: string };
  const denied = e.name === 'AccessDeniedException' || e.name === 'AccessDenied';
  return {
    check,
    ok: false,
    detail: `${e.name ?? 'Error'}: ${e.message ?? String(error)}`,
    fix: denied ? 'run preflight with a role that may read this (the deploying role can)' : fix,
  };
};

/** No credentials at all: the caller gets the list of what would be checked instead. */
export class NoCredentialsError extends Error {}

/**
 * The read-only checks of what a stack cannot create for itself. Runs every check (one failure does
 * not hide the next) and returns the checklist.
 */
export async function runPreflight(config: StackConfig, deps: PreflightDeps): Promise<CheckResult[]> {
  const { clients } = deps;
  const results: CheckResult[] = [];
  const check = async (name: string, run: () => Promise<Omit<CheckResult, 'check'>>, fix?: string) => {
    try {
      results.push({ check: name, ...(await run()) });
    } catch (error) {
      results.push(failure(name, error, fix));
    }
  };

  let account: string | undefined;
  try {
    account = (await clients.sts(config.homeRegion).send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (/Credentials|ExpiredToken|InvalidClientTokenId/.test(name)) throw new NoCredentialsError(name);
    throw error;
  }
  results.push({ check: 'credentials', ok: true, detail: `account ${account}` });

  if (config.domain) {
    const domain = config.domain;
    await check('hosted zone', async () => {
      const { HostedZone } = await clients.route53().send(new GetHostedZoneCommand({ Id: domain.hostedZoneId }));
      const apex = (HostedZone?.Name ?? '').replace(/\.$/, '');
      const outside = [domain.zoneName, domain.globalName].filter((n) => n !== apex && !n.endsWith(`.${apex}`));
      if (HostedZone?.Config?.PrivateZone) return { ok: false, detail: `${domain.hostedZoneId} is a private zone`, fix: 'set serenya:domain.hostedZoneId to the public hosted zone' };
      if (outside.length) return { ok: false, detail: `${domain.hostedZoneId} serves ${apex}, not ${outside.join(', ')}`, fix: 'set serenya:domain.hostedZoneId to the zone that serves both names' };
      return { ok: true, detail: `${domain.hostedZoneId} serves ${apex}` };
    }, 'create the public hosted zone, or set serenya:domain.hostedZoneId to its id (aws route53 list-hosted-zones-by-name)');
  }

  await check(`Lambda concurrency in ${config.homeRegion}`, async () => {
    const { AccountLimit } = await clients.lambda(config.homeRegion).send(new GetAccountSettingsCommand({}));
    const total = AccountLimit?.ConcurrentExecutions ?? 0;
    const unreserved = AccountLimit?.UnreservedConcurrentExecutions ?? 0;
    const reserving = (config.concurrency.apiReserved ?? 0) + config.concurrency.workerReserved;
    const needed = reserving + lambdaUnreservedMinimum;
    if (unreserved - reserving >= lambdaUnreservedMinimum) return { ok: true, detail: `${unreserved} of ${total} unreserved; the stack reserves ${reserving}` };
    return {
      ok: false,
      detail: `${unreserved} of ${total} unreserved; reserving ${reserving} would leave ${unreserved - reserving}, Lambda requires ${lambdaUnreservedMinimum}`,
      fix: `request "Concurrent executions" (Service Quotas, AWS Lambda, L-B99A9384) of at least ${total - unreserved + needed} in ${config.homeRegion}, or lower serenya:concurrency.apiReserved`,
    };
  });

  if (!config.managesApiGatewayAccount) {
    await check(`API Gateway logging role in ${config.homeRegion}`, async () => {
      const { cloudwatchRoleArn } = await clients.apigateway(config.homeRegion).send(new GetAccountCommand({}));
      return cloudwatchRoleArn
        ? { ok: true, detail: cloudwatchRoleArn }
        : { ok: false, detail: 'not set: the stage’s access logs would be refused', fix: 'deploy the stack that manages it first, or set serenya:managesApiGatewayAccount: true in exactly one stack of this account and region' };
    });
  }

  const modelId = baseModelId(config.bedrock.modelId);
  for (const region of inferenceRegions(config)) {
    const bedrock = clients.bedrock(region);
    await check(`Bedrock access in ${region}`, async () => {
      const a = await bedrock.send(new GetFoundationModelAvailabilityCommand({ modelId }));
      const problems = [
        a.authorizationStatus !== 'AUTHORIZED' && `authorization ${a.authorizationStatus}`,
        a.entitlementAvailability !== 'AVAILABLE' && `entitlement ${a.entitlementAvailability}`,
        a.regionAvailability !== 'AVAILABLE' && `region ${a.regionAvailability}`,
        a.agreementAvailability?.status !== 'AVAILABLE' && `Marketplace agreement ${a.agreementAvailability?.status}`,
      ].filter(Boolean);
      return problems.length
        ? {
            ok: false,
            detail: `${modelId}: ${problems.join(', ')}`,
            fix: `as an administrator, file Anthropic's use-case form and invoke ${modelId} once in ${region} (the first call subscribes through AWS Marketplace; the worker's role may not)`,
          }
        : { ok: true, detail: `${modelId} authorized, agreement in place` };
    });
    await check(`Bedrock data retention in ${region}`, async () => {
      const { mode } = await bedrock.send(new GetAccountDataRetentionCommand({}));
      return mode === 'none'
        ? { ok: true, detail: 'none' }
        : { ok: false, detail: `${mode}: prompts and answers may be kept`, fix: `set the account's Bedrock data retention to none in ${region} (PutAccountDataRetention, mode "none")` };
    });
    await check(`Bedrock invocation logging in ${region}`, async () => {
      const { loggingConfig } = await bedrock.send(new GetModelInvocationLoggingConfigurationCommand({}));
      const logging = loggingConfig && Object.entries(loggingConfig).filter(([k, v]) => k.endsWith('DataDeliveryEnabled') && v).map(([k]) => k);
      return logging?.length
        ? { ok: false, detail: `logs full prompts and answers (${logging.join(', ')})`, fix: `aws bedrock delete-model-invocation-logging-configuration --region ${region}` }
        : { ok: true, detail: 'off' };
    });
  }

  const play = config.subscriptions.googlePlay;
  if (play) {
    const region = play.credentialsSecretArn.split(':')[3]!;
    await check('Play Developer API secret', async () => {
      const secret = await clients.secrets(region).send(new DescribeSecretCommand({ SecretId: play.credentialsSecretArn }));
      if (secret.ARN !== play.credentialsSecretArn) return { ok: false, detail: `its full ARN is ${secret.ARN}`, fix: `set serenya:subscriptions.googlePlay.credentialsSecretArn to ${secret.ARN}` };
      const customerKey = secret.KmsKeyId && !secret.KmsKeyId.includes('alias/aws/secretsmanager') ? secret.KmsKeyId : undefined;
      if (customerKey && customerKey !== play.credentialsSecretKmsKeyArn) {
        return { ok: false, detail: `encrypted with ${customerKey}, which the stack does not grant`, fix: `set serenya:subscriptions.googlePlay.credentialsSecretKmsKeyArn to that key's ARN` };
      }
      return { ok: true, detail: secret.ARN };
    }, 'create the secret (aws secretsmanager create-secret --name serenya/google-play-api-key) in the zone, then set its full ARN');
  }

  const appleSecret = config.identity.appleSignInSecretArn;
  if (appleSecret) {
    await check('Sign in with Apple key secret', async () => {
      const secret = await clients.secrets(appleSecret.split(':')[3]!).send(new DescribeSecretCommand({ SecretId: appleSecret }));
      return secret.ARN === appleSecret
        ? { ok: true, detail: secret.ARN }
        : { ok: false, detail: `its full ARN is ${secret.ARN}`, fix: `set serenya:identity.appleSignInSecretArn to ${secret.ARN}` };
    }, 'create the secret with {"teamId","keyId","privateKey"} of the app\'s Sign in with Apple key (aws secretsmanager create-secret --name serenya/sign-in-with-apple-key), then set its full ARN');
  }

  await check('Pulumi CLI', async () => {
    const cli = await deps.pulumiCliVersion();
    if (!cli) return { ok: false, detail: 'not installed', fix: 'install the Pulumi CLI (https://www.pulumi.com/docs/install/)' };
    const older = compareVersions(cli.replace(/^v/, ''), deps.pulumiSdkVersion) < 0;
    return older
      ? { ok: false, detail: `${cli} is older than the SDK ${deps.pulumiSdkVersion}`, fix: `upgrade the Pulumi CLI to ${deps.pulumiSdkVersion} or later` }
      : { ok: true, detail: cli };
  });
  return results;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
