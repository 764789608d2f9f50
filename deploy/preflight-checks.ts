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
import {
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandOutput,
  type RRType,
} from '@aws-sdk/client-route-53';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { CaaRecord } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { arnRegions, profileGeography } from '../components/bedrock-arns';
import type { StackConfig } from '../components/stack-config';

/** One line of the checklist: what was checked, and the fix when it failed. */
export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** Lambda refuses a reservation that leaves fewer unreserved executions than this. */
const lambdaUnreservedMinimum = 100;

/** The certificate authorities a CAA `issue` record must name for ACM to issue (ACM's documentation). */
const amazonCaaIssuers = ['amazon.com', 'amazontrust.com', 'awstrust.com', 'amazonaws.com'];

/**
 * Regions an account must enable before anything reaches them (launched after March 2019). Bedrock's
 * EU profile routes to eu-south-1 and eu-south-2; preflight asks the Account API about every region
 * the zone uses, this list only names the prerequisite before credentials are at hand.
 */
const optInRegions = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
];

/** The functions of a stack that reserve concurrency, as `Zone` names them (`serenya-<stack>-<fn>`). */
const reservingFunctions = (stack: string) => [`serenya-${stack}-api`, `serenya-${stack}-worker`];

/** Every region the zone uses: home, replicas, and where its model runs. */
const zoneRegions = (c: StackConfig) => [...new Set([c.homeRegion, ...c.replicaRegions, ...inferenceRegions(c)])];

/** What preflight checks, for `--help` and for a run without credentials. */
export function plannedChecks(config: StackConfig): string[] {
  const regions = inferenceRegions(config).join(', ');
  const optIn = zoneRegions(config).filter((r) => optInRegions.includes(r));
  const domain = config.domain;
  return [
    'AWS credentials for the zone’s account (sts:GetCallerIdentity)',
    `every region the zone uses is enabled for the account${
      optIn.length ? ` (${optIn.join(', ')} are opt-in regions: enable them first)` : ''
    }`,
    ...(domain
      ? [
          `the hosted zone ${domain.hostedZoneId} exists, is public and serves ${domain.zoneName} and ${domain.globalName}`,
          'the domain is delegated to the hosted zone’s name servers (public DNS, as ACM resolves it)',
          `CAA records, if any, let Amazon issue for ${domain.zoneName} and ${domain.globalName}`,
          ...(domain.ownsGlobalValidationRecord
            ? []
            : [`ACM's validation record of ${domain.globalName} exists (its owning stack deployed first)`]),
        ]
      : []),
    `Lambda's concurrency quota in ${config.homeRegion} leaves ${lambdaUnreservedMinimum} unreserved after the stack's reservations`,
    config.managesApiGatewayAccount
      ? `API Gateway's CloudWatch Logs role in ${config.homeRegion} is unset or this stack's (no other stack manages it)`
      : `API Gateway's CloudWatch Logs role is set in ${config.homeRegion} (another stack manages it)`,
    ...(profileGeography(config.bedrock.modelId)
      ? [`the inference profile ${config.bedrock.modelId} routes only to ${regions}, inside allowedRegions`]
      : []),
    `Bedrock model access and the Marketplace agreement for ${config.bedrock.modelId} in ${regions}`,
    `Bedrock data retention is "none" in ${regions}`,
    `Bedrock model invocation logging is off in ${regions}`,
    ...(config.subscriptions.googlePlay
      ? ['the Play Developer API secret exists at its full ARN, with the key the stack grants']
      : []),
    ...(config.identity.appleSignInSecretArn
      ? ['the Sign in with Apple key secret exists at its full ARN, with the key the stack grants']
      : []),
    'the Pulumi CLI is installed, no older than the Pulumi SDK this program uses',
  ];
}

/** The regions where the zone's model runs: the profile's, or the home region for a bare model id. */
const inferenceRegions = (c: StackConfig) =>
  profileGeography(c.bedrock.modelId) ? c.bedrock.inferenceRegions : [c.homeRegion];
const baseModelId = (modelId: string) =>
  profileGeography(modelId) ? modelId.slice(modelId.indexOf('.') + 1) : modelId;

/** AWS clients by region; tests mock them (aws-sdk-client-mock), the CLI uses the real ones. */
export interface PreflightDeps {
  clients: {
    sts(region: string): STSClient;
    route53(): Route53Client;
    lambda(region: string): LambdaClient;
    apigateway(region: string): APIGatewayClient;
    bedrock(region: string): BedrockClient;
    secrets(region: string): SecretsManagerClient;
    iam(): IAMClient;
    account(): AccountClient;
  };
  /** Public DNS, as ACM resolves it when it validates and issues; tests give their own answers. */
  dns: PublicDns;
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
  iam: () => new IAMClient({ region: 'us-east-1' }),
  account: () => new AccountClient({ region: 'us-east-1' }),
};

/** The DNS answers preflight reads: name servers and CAA records. */
export interface PublicDns {
  resolveNs(name: string): Promise<string[]>;
  resolveCaa(name: string): Promise<CaaRecord[]>;
}

/**
 * The resolvers of the machine running preflight. A public lookup rather than Route 53 Domains'
 * GetDomainDetail: it works for any registrar (and for a hosted zone of a subdomain, delegated by its
 * parent zone), and it sees the delegation the way ACM will.
 */
export const publicDns: PublicDns = new Resolver({ timeout: 5_000, tries: 2 });

/** A DNS name without its trailing dot, in lower case. */
const dnsName = (name: string) => name.replace(/\.$/, '').toLowerCase();
/** "No such record" answers: the name has no record of the type, or does not exist. */
const noRecord = (error: unknown) => ['ENODATA', 'ENOTFOUND'].includes((error as { code?: string }).code ?? '');

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
export async function runPreflight(stack: string, config: StackConfig, deps: PreflightDeps): Promise<CheckResult[]> {
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

  await check('regions enabled', async () => {
    const account = clients.account();
    const status = async (region: string) =>
      (await account.send(new GetRegionOptStatusCommand({ RegionName: region }))).RegionOptStatus;
    const statuses = await Promise.all(
      zoneRegions(config).map(async (region) => [region, await status(region)] as const),
    );
    const disabled = statuses.filter(([, status]) => status !== 'ENABLED' && status !== 'ENABLED_BY_DEFAULT');
    if (!disabled.length) return { ok: true, detail: statuses.map(([r]) => r).join(', ') };
    return {
      ok: false,
      detail: disabled.map(([region, status]) => `${region} is ${status?.toLowerCase() ?? 'unknown'}`).join(', '),
      fix: `enable the opt-in region(s) for the account, then wait until they show ENABLED: ${disabled
        .map(([r]) => `aws account enable-region --region-name ${r}`)
        .join('; ')}`,
    };
  });

  if (config.domain) {
    const domain = config.domain;
    let nameServers: string[] | undefined;
    let apex: string | undefined;
    await check(
      'hosted zone',
      async () => {
        const { HostedZone, DelegationSet } = await clients
          .route53()
          .send(new GetHostedZoneCommand({ Id: domain.hostedZoneId }));
        const name = dnsName(HostedZone?.Name ?? '');
        const outside = [domain.zoneName, domain.globalName].filter((n) => n !== name && !n.endsWith(`.${name}`));
        if (HostedZone?.Config?.PrivateZone)
          return {
            ok: false,
            detail: `${domain.hostedZoneId} is a private zone`,
            fix: 'set serenya:domain.hostedZoneId to the public hosted zone',
          };
        if (outside.length)
          return {
            ok: false,
            detail: `${domain.hostedZoneId} serves ${name}, not ${outside.join(', ')}`,
            fix: 'set serenya:domain.hostedZoneId to the zone that serves both names',
          };
        [apex, nameServers] = [name, (DelegationSet?.NameServers ?? []).map(dnsName).sort()];
        return { ok: true, detail: `${domain.hostedZoneId} serves ${name}` };
      },
      'create the public hosted zone, or set serenya:domain.hostedZoneId to its id (aws route53 list-hosted-zones-by-name)',
    );

    if (apex && nameServers) {
      const [zone, servers] = [apex, nameServers];
      const fix = `at the registrar of ${zone} (or in its parent zone, for a subdomain), set its name servers to ${servers.join(', ')}`;
      await check('domain delegation', async () => {
        const delegated = await deps.dns.resolveNs(zone).then(
          (ns) => ns.map(dnsName).sort(),
          (error: { code?: string }) => error.code ?? 'no answer',
        );
        if (typeof delegated === 'string')
          return { ok: false, detail: `${zone} does not resolve (${delegated}): ACM cannot validate`, fix };
        if (delegated.join() === servers.join()) return { ok: true, detail: `${zone} → ${servers.join(', ')}` };
        const detail = `${zone} is delegated to ${delegated.join(', ')}, not to the hosted zone's ${servers.join(', ')}: ACM cannot see its records`;
        return { ok: false, detail, fix };
      });
    }

    await check('CAA', async () => {
      const refusing: string[] = [];
      const found: string[] = [];
      for (const name of [domain.zoneName, domain.globalName]) {
        const caa = await relevantCaa(deps.dns, name);
        if (!caa) continue;
        // An `issue` value is the CA's domain, optionally followed by `; parameters`.
        const issuers = caa.records.flatMap((r) =>
          r.issue === undefined ? [] : [dnsName(r.issue.split(';')[0]!.trim())],
        );
        found.push(`${caa.at}: ${issuers.join(', ') || 'no issue property'}`);
        if (issuers.length && !issuers.some((i) => amazonCaaIssuers.includes(i))) {
          refusing.push(`${name} (CAA at ${caa.at} allows only ${issuers.join(', ') || 'no one'})`);
        }
      }
      if (!refusing.length)
        return { ok: true, detail: found.length ? [...new Set(found)].join('; ') : 'no CAA records: any CA may issue' };
      return {
        ok: false,
        detail: `ACM may not issue for ${refusing.join('; ')}`,
        fix: `add a CAA record allowing Amazon where the CAA records are, e.g. 0 issue "amazon.com" (one of ${amazonCaaIssuers.join(', ')})`,
      };
    });

    if (!domain.ownsGlobalValidationRecord) {
      await check(`ACM validation record of ${domain.globalName}`, async () => {
        const record = await acmValidationRecord(clients.route53(), domain.hostedZoneId, domain.globalName);
        return record
          ? { ok: true, detail: `${record} (created by the stack that owns it)` }
          : {
              ok: false,
              detail: `no ACM validation record under ${domain.globalName}: this stack's certificate would wait until it times out`,
              fix:
                'deploy the stack of this account with serenya:domain.ownsGlobalValidationRecord: true first (prod-eu), ' +
                'or set it true here if no stack of this account owns it',
            };
      });
    }
  }

  await check(`Lambda concurrency in ${config.homeRegion}`, async () => {
    const lambda = clients.lambda(config.homeRegion);
    const { AccountLimit } = await lambda.send(new GetAccountSettingsCommand({}));
    const total = AccountLimit?.ConcurrentExecutions ?? 0;
    const unreserved = AccountLimit?.UnreservedConcurrentExecutions ?? 0;
    // On a re-deploy the stack's functions already hold their reservations: they are not taken twice.
    const held = await Promise.all(
      reservingFunctions(stack).map((FunctionName) =>
        lambda.send(new GetFunctionConcurrencyCommand({ FunctionName })).then(
          (r) => r.ReservedConcurrentExecutions ?? 0,
          (error: { name?: string }) => (error.name === 'ResourceNotFoundException' ? 0 : Promise.reject(error)),
        ),
      ),
    ).then((counts) => counts.reduce((a, b) => a + b, 0));
    const reserving = (config.concurrency.apiReserved ?? 0) + config.concurrency.workerReserved;
    const left = unreserved + held - reserving;
    const reservations = `the stack reserves ${reserving}${held ? ` (holds ${held} already)` : ''}`;
    if (left >= lambdaUnreservedMinimum)
      return { ok: true, detail: `${unreserved} of ${total} unreserved; ${reservations}` };
    return {
      ok: false,
      detail: `${unreserved} of ${total} unreserved; ${reservations}, which would leave ${left}, Lambda requires ${lambdaUnreservedMinimum}`,
      fix: `request "Concurrent executions" (Service Quotas, AWS Lambda, L-B99A9384) of at least ${total - left + lambdaUnreservedMinimum} in ${config.homeRegion}, or lower serenya:concurrency.apiReserved`,
    };
  });

  await check(`API Gateway logging role in ${config.homeRegion}`, async () => {
    const { cloudwatchRoleArn } = await clients.apigateway(config.homeRegion).send(new GetAccountCommand({}));
    if (!config.managesApiGatewayAccount) {
      return cloudwatchRoleArn
        ? { ok: true, detail: cloudwatchRoleArn }
        : {
            ok: false,
            detail: 'not set: the stage’s access logs would be refused',
            fix: 'deploy the stack that manages it first, or set serenya:managesApiGatewayAccount: true in exactly one stack of this account and region',
          };
    }
    if (!cloudwatchRoleArn) return { ok: true, detail: 'not set: this stack sets it' };
    // The stack's provider tags every resource with its stack: a role tagged otherwise is another stack's.
    const roleName = cloudwatchRoleArn.split('/').pop()!;
    const owner = await clients
      .iam()
      .send(new ListRoleTagsCommand({ RoleName: roleName }))
      .then(
        ({ Tags }) => Tags?.find((t) => t.Key === 'stack')?.Value ?? 'untagged',
        (error: { name?: string }) => (error.name === 'NoSuchEntity' ? 'deleted' : Promise.reject(error)),
      );
    if (owner === stack) return { ok: true, detail: `${cloudwatchRoleArn} (this stack's)` };
    if (owner === 'deleted')
      return { ok: true, detail: `${cloudwatchRoleArn} no longer exists: this stack sets its own` };
    const whose = owner === 'untagged' ? 'not a Serenya stack’s role' : `stack ${owner}`;
    return {
      ok: false,
      detail: `set to ${cloudwatchRoleArn} (${whose}): this stack would take the setting over, and destroying either stack resets it for both`,
      fix: 'set serenya:managesApiGatewayAccount: false in this stack: the stack that set the role manages it for the account and region',
    };
  });

  if (profileGeography(config.bedrock.modelId)) {
    const { modelId, inferenceRegions: declared } = config.bedrock;
    await check(
      'Bedrock inference profile',
      async () => {
        const bedrock = clients.bedrock(config.homeRegion);
        const profile = await bedrock.send(new GetInferenceProfileCommand({ inferenceProfileIdentifier: modelId }));
        const destinations = arnRegions((profile.models ?? []).map((m) => m.modelArn ?? '')).sort();
        const routes = `${modelId} routes to ${destinations.join(', ')}`;
        const outside = destinations.filter((r) => !config.allowedRegions.includes(r));
        if (outside.length) {
          return {
            ok: false,
            detail: `${routes}; ${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} outside allowedRegions (${config.allowedRegions.join(', ')})`,
            fix:
              'have the compliance owner decide: add the region(s) to serenya:allowedRegions and bedrock.inferenceRegions if the zone ' +
              'may process there (docs/deploying.md), or choose a model whose profile stays in the zone',
          };
        }
        const stated = [...declared].sort();
        if (destinations.join() !== stated.join()) {
          return {
            ok: false,
            detail: `${routes}; the stack declares ${stated.join(', ')}`,
            fix: `set serenya:bedrock.inferenceRegions to [${destinations.join(', ')}], so preflight checks Bedrock in every region the profile uses`,
          };
        }
        return { ok: true, detail: `routes to ${destinations.join(', ')}` };
      },
      `check serenya:bedrock.modelId: Bedrock has no inference profile ${modelId} in ${config.homeRegion}`,
    );
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
        : {
            ok: false,
            detail: `${mode}: prompts and answers may be kept`,
            fix: `set the account's Bedrock data retention to none in ${region} (PutAccountDataRetention, mode "none")`,
          };
    });
    await check(`Bedrock invocation logging in ${region}`, async () => {
      const { loggingConfig } = await bedrock.send(new GetModelInvocationLoggingConfigurationCommand({}));
      const logging =
        loggingConfig &&
        Object.entries(loggingConfig)
          .filter(([k, v]) => k.endsWith('DataDeliveryEnabled') && v)
          .map(([k]) => k);
      return logging?.length
        ? {
            ok: false,
            detail: `logs full prompts and answers (${logging.join(', ')})`,
            fix: `aws bedrock delete-model-invocation-logging-configuration --region ${region}`,
          }
        : { ok: true, detail: 'off' };
    });
  }

  /** A secret exists at its full ARN, and the stack grants the key it is encrypted with. */
  /** A secret exists at its full ARN (`settings`Arn), and the stack grants (`settings`KmsKeyArn) its key. */
  const secretCheck = (name: string, settings: string, secretArn: string, grantedKey: string | undefined) => {
    const secretName = secretArn.split(':secret:')[1]?.replace(/-[A-Za-z0-9]{6}$/, '');
    return check(
      name,
      async () => {
        const secret = await clients
          .secrets(secretArn.split(':')[3]!)
          .send(new DescribeSecretCommand({ SecretId: secretArn }));
        if (secret.ARN !== secretArn)
          return {
            ok: false,
            detail: `its full ARN is ${secret.ARN}`,
            fix: `set serenya:${settings}Arn to ${secret.ARN}`,
          };
        const customerKey =
          secret.KmsKeyId && !secret.KmsKeyId.includes('alias/aws/secretsmanager') ? secret.KmsKeyId : undefined;
        if (customerKey && customerKey !== grantedKey) {
          return {
            ok: false,
            detail: `encrypted with ${customerKey}, which the stack does not grant`,
            fix: `set serenya:${settings}KmsKeyArn to that key's ARN`,
          };
        }
        return { ok: true, detail: `${secret.ARN}${customerKey ? `, key ${customerKey}` : ''}` };
      },
      `create the secret (aws secretsmanager create-secret --name ${secretName}) in the zone, then set its full ARN`,
    );
  };

  const play = config.subscriptions.googlePlay;
  if (play) {
    await secretCheck(
      'Play Developer API secret',
      'subscriptions.googlePlay.credentialsSecret',
      play.credentialsSecretArn,
      play.credentialsSecretKmsKeyArn,
    );
  }
  const { appleSignInSecretArn, appleSignInSecretKmsKeyArn } = config.identity;
  if (appleSignInSecretArn) {
    await secretCheck(
      'Sign in with Apple key secret',
      'identity.appleSignInSecret',
      appleSignInSecretArn,
      appleSignInSecretKmsKeyArn,
    );
  }

  await check('Pulumi CLI', async () => {
    const cli = await deps.pulumiCliVersion();
    if (!cli)
      return {
        ok: false,
        detail: 'not installed',
        fix: 'install the Pulumi CLI (https://www.pulumi.com/docs/install/)',
      };
    const older = compareVersions(cli.replace(/^v/, ''), deps.pulumiSdkVersion) < 0;
    return older
      ? {
          ok: false,
          detail: `${cli} is older than the SDK ${deps.pulumiSdkVersion}`,
          fix: `upgrade the Pulumi CLI to ${deps.pulumiSdkVersion} or later`,
        }
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

/**
 * The CAA record set that governs issuance for `name` (RFC 8659): the name's own, else the closest
 * ancestor's that has one; none at all lets any CA issue.
 */
async function relevantCaa(dns: PublicDns, name: string): Promise<{ at: string; records: CaaRecord[] } | undefined> {
  for (let at = dnsName(name); at.includes('.'); at = at.slice(at.indexOf('.') + 1)) {
    const records = await dns.resolveCaa(at).catch((error: unknown) => (noRecord(error) ? [] : Promise.reject(error)));
    if (records.length) return { at, records };
  }
  return undefined;
}

/** ACM's DNS validation record of `name` in the hosted zone (`_<token>.<name>` CNAME to `….acm-validations.aws.`). */
async function acmValidationRecord(route53: Route53Client, zoneId: string, name: string): Promise<string | undefined> {
  const below = `.${dnsName(name)}`;
  // Route 53 lists records in DNS order: the name's own subtree follows it.
  for (let start: string | undefined = dnsName(name), type: RRType | undefined; start; ) {
    const page: ListResourceRecordSetsCommandOutput = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: start, StartRecordType: type }),
    );
    for (const set of page.ResourceRecordSets ?? []) {
      const record = dnsName(set.Name ?? '');
      if (record !== dnsName(name) && !record.endsWith(below)) return undefined;
      const value = set.ResourceRecords?.[0]?.Value ?? '';
      const acm = set.Type === 'CNAME' && record.startsWith('_') && dnsName(value).endsWith('.acm-validations.aws');
      if (acm) return record;
    }
    [start, type] = page.IsTruncated ? [page.NextRecordName, page.NextRecordType] : [undefined, undefined];
  }
  return undefined;
}
