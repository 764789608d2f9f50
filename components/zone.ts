import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import {
  chatStreamPath,
  functionEnvironment,
  piiEncryptionContext,
  publicJwkOf,
  type FunctionEnvironment,
} from '../contract';
import { Api, type ApiArgs } from './api';
import { AuditBucket, type AuditBucketArgs } from './audit-bucket';
import { bedrockArns, profileGeography } from './bedrock-arns';
import { FunctionRoles, type FunctionName } from './function-roles';
import { GeoDns } from './geo-dns';
import type { Statement } from './iam-statement';
import { ciRoleName } from './ci-roles';
import { ZoneKeys } from './zone-keys';
import { Observability } from './observability';
import { functionSizes, PlatformFunctions, type FunctionSpec, type PlatformFunctionsArgs } from './platform-functions';
import { Releases } from './releases';
import { secretReadGrants } from './secret-grants';
import type { StackConfig } from './stack-config';
import { TempBucket, type TempBucketArgs } from './temp-bucket';
import { UsersTable, type UsersTableArgs } from './users-table';

/** The stores' settings for the runtime: names and ids; the Play key stays in Secrets Manager. */
function storeEnvironment({ subscriptions }: StackConfig): Partial<FunctionEnvironment<string>> {
  const { appStore, googlePlay } = subscriptions;
  return {
    ...(appStore && {
      appleBundleId: appStore.bundleId,
      appleEnvironment: appStore.environment,
      appleAppAppleId: appStore.appAppleId ? String(appStore.appAppleId) : undefined,
    }),
    ...(googlePlay && {
      playPackageName: googlePlay.packageName,
      playPushAudience: googlePlay.pushAudience,
      playPushServiceAccount: googlePlay.pushServiceAccount,
      playCredentialsSecretArn: googlePlay.credentialsSecretArn,
    }),
  };
}

/** The encryption context of a sealed Apple refresh token: the one personal datum the stream function opens. */
const appleTokenContext = { [piiEncryptionContext.attribute]: 'apple_refresh_token' };

/** Resource options of everything the zone creates in its home region. */
type Opts = pulumi.ComponentResourceOptions;

/** Stops a preview on the problems `Zone.deployProblems` found, naming each. */
export function assertDeployable(problems: string[]) {
  if (problems.length) throw new Error(`The stack cannot deploy as configured:\n  - ${problems.join('\n  - ')}`);
  return 'passed';
}

/** What a zone's stack exports: what the deploy command, the app teams and the compliance reviewers read. */
export interface ZoneOutputs {
  zone: StackConfig['zone'];
  region: string;
  /** Every region anything of this zone may live in. */
  allowedRegions: string[];
  /** The API base URL (`homeApi`) the app pins. */
  apiUrl: pulumi.Output<string>;
  usersTable: pulumi.Output<string>;
  usersTableReplicaRegions: string[];
  tempBucket: pulumi.Output<string>;
  auditBucket: pulumi.Output<string>;
  dataKeyArn: pulumi.Output<string>;
  dataKeyReplicaArns: Record<string, pulumi.Output<string>>;
  signingKeyArn: pulumi.Output<string>;
  emailMacKeyArn: pulumi.Output<string>;
  functionNames: pulumi.Output<string>[];
  modelId: string;
  /** The Bedrock ARNs the worker may invoke, all in the zone. */
  bedrockArns: pulumi.Output<string[]>;
  /** What `npm run deploy` releases through CodeDeploy after `pulumi up`. */
  releases: Releases['targets'];
}

export interface ZoneArgs {
  /** The zone's validated stack configuration (`stack-config.ts`). */
  config: StackConfig;
  /** The Pulumi stack, in resource names: `serenya-<stack>-…`. */
  stack: string;
  /** Shown by `/health`. @default the stack name */
  version?: string;
  /** Lambda code; tests may pass their own. @default the bundle this program builds */
  code?: pulumi.Input<pulumi.asset.Archive>;
  /**
   * Changes to single resources without editing a component, e.g. one WAF rule:
   * `{ webAcl: (args) => { … } }`. The policy pack still judges the result. @default none
   */
  transform?: {
    usersTable?: UsersTableArgs['transform'];
    tempBucket?: TempBucketArgs['transform'];
    auditBucket?: AuditBucketArgs['transform'];
    api?: ApiArgs['transform'];
    functions?: PlatformFunctionsArgs['transform'];
  };
}

/**
 * One data-residency zone. Every AWS resource goes through a provider pinned to the home region
 * or, for the few things that must live in a replica region, to that replica region; the stack
 * disables AWS's default provider, so nothing can fall back to whatever region a shell has set.
 */
export class Zone extends pulumi.ComponentResource {
  public readonly outputs: ZoneOutputs;
  /**
   * What the program can only check against the account at preview: the hosted zone serves the
   * domain; Bedrock's profile stays in the zone. Each problem found, none when the stack can deploy;
   * `index.ts` fails the preview on any.
   */
  public readonly deployProblems: pulumi.Output<string[]>;

  constructor(name: string, args: ZoneArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:zone:Zone', name, {}, opts);
    const { config } = args;
    const { home, replicas } = this.createProviders(name, args);
    const inHome = { parent: this, providers: { aws: home } };
    const roles = new FunctionRoles(`${name}-roles`, {}, inHome).roles;
    const keys = this.createKeys(name, args, roles, home, replicas, inHome);
    const storage = this.createStorage(name, args, keys, inHome);
    const api = this.createApi(name, config, args, inHome);
    const modelGrant = this.modelGrant(config, home);
    const modelArns = modelGrant.apply((g) => g.arns);
    const specs = this.functionSpecs(args, { keys, storage, api, modelArns, home });
    const functions = this.createFunctions(name, args, roles, storage, specs, inHome);
    const stage = api.connect(functions.nodes.api.alias, {
      path: chatStreamPath,
      handler: functions.nodes.chat.alias,
      timeoutSeconds: functionSizes.chat.timeout,
    });
    storage.temp.notifyOnUpload(functions.nodes.worker.alias);
    this.createGeoDns(name, config, api, inHome);
    const observability = this.createObservability(name, config, { keys, storage, api, functions, stage }, inHome);
    const releases = new Releases(
      `${name}-releases`,
      {
        zone: config.zone,
        region: config.homeRegion,
        functions: functions.nodes,
        strategy: config.release.strategy,
        rollbackAlarmNames: observability.rollbackAlarms.map((a) => a.name),
      },
      inHome,
    );
    const users = storage.usersTable.table;
    this.outputs = {
      zone: config.zone,
      region: config.homeRegion,
      allowedRegions: config.allowedRegions,
      apiUrl: api.url,
      usersTable: users.name,
      usersTableReplicaRegions: config.replicaRegions,
      tempBucket: storage.temp.bucket.bucket,
      auditBucket: storage.auditBucket.bucket.bucket,
      dataKeyArn: keys.dataKey.arn,
      dataKeyReplicaArns: Object.fromEntries(Object.entries(keys.dataKeyReplicas).map(([r, k]) => [r, k.arn])),
      signingKeyArn: keys.signingKey.arn,
      emailMacKeyArn: keys.macKey.arn,
      functionNames: Object.values(functions.names),
      modelId: config.bedrock.modelId,
      bedrockArns: modelArns,
      releases: releases.targets,
    };
    this.registerOutputs({ ...this.outputs });
    this.deployProblems = pulumi
      .all([api.hostedZoneCheck, modelGrant.apply((g) => g.problem)])
      .apply((results) => results.filter((p): p is string => !!p));
  }

  private createKeys(
    name: string,
    { config, stack }: ZoneArgs,
    roles: FunctionRoles['roles'],
    home: aws.Provider,
    replicas: Record<string, aws.Provider>,
    inHome: pulumi.ComponentResourceOptions,
  ) {
    const account = aws.getCallerIdentityOutput({}, { parent: this, provider: home }).accountId;
    const deployRole = pulumi.interpolate`arn:aws:iam::${account}:role/${ciRoleName('deploy', stack)}`;
    return new ZoneKeys(
      `${name}-keys`,
      {
        zone: config.zone,
        region: config.homeRegion,
        replicaRegions: config.replicaRegions,
        replicaProviders: replicas,
        // The API seals and opens personal data; the stream opens only the Apple refresh token it revokes;
        // the worker opens none (it uses the key only through S3 and DynamoDB, by its own policy).
        dataKeyUsers: [roles.api.arn],
        dataKeyOpeners: [{ role: roles.stream.arn, encryptionContext: appleTokenContext }],
        administrators: config.keyAdministrators ?? [deployRole],
        allowedRegions: config.allowedRegions,
        signers: [roles.api.arn],
        macUsers: [roles.api.arn],
      },
      inHome,
    );
  }

  /** The users table, the temp bucket and the audit bucket, all under the data key. */
  private createStorage(name: string, { config, stack, transform }: ZoneArgs, keys: ZoneKeys, inHome: Opts) {
    const prefix = `serenya-${stack}`;
    const replicaKeyArns = Object.fromEntries(Object.entries(keys.dataKeyReplicas).map(([r, key]) => [r, key.arn]));
    const usersTable = new UsersTable(
      `${name}-users`,
      {
        tableName: `${prefix}-users`,
        kmsKeyArn: keys.dataKey.arn,
        replicaKeyArns,
        pointInTimeRecovery: config.pointInTimeRecovery,
        deletionProtection: config.deletionProtection,
        transform: transform?.usersTable,
      },
      inHome,
    );
    const temp = new TempBucket(
      `${prefix}-temp`,
      { kmsKeyArn: keys.dataKey.arn, forceDestroy: !config.production, transform: transform?.tempBucket },
      inHome,
    );
    const auditBucket = new AuditBucket(
      `${prefix}-audit`,
      // A dev stack's trail can be emptied (governance mode) so the stack can be destroyed; production's cannot.
      {
        kmsKeyArn: keys.dataKey.arn,
        retentionMode: config.production ? 'COMPLIANCE' : 'GOVERNANCE',
        transform: transform?.auditBucket,
      },
      inHome,
    );
    return { usersTable, temp, auditBucket };
  }

  private createApi(name: string, config: StackConfig, args: ZoneArgs, inHome: Opts) {
    return new Api(
      `${name}-api`,
      {
        region: config.homeRegion,
        ...config.throttling,
        logRetentionDays: config.logRetentionDays,
        domain: config.domain,
        managesAccountSettings: config.managesApiGatewayAccount,
        transform: args.transform?.api,
      },
      inHome,
    );
  }

  /**
   * Each function's environment and grants, in one place: every function runs the one bundle, so
   * each reads the whole environment (its parser checks all of it); its grants are its own.
   */
  private functionSpecs(
    { config, stack, version }: ZoneArgs,
    {
      keys,
      storage,
      api,
      modelArns,
      home,
    }: {
      keys: ZoneKeys;
      storage: ReturnType<Zone['createStorage']>;
      api: Api;
      modelArns: pulumi.Output<string[]>;
      home: aws.Provider;
    },
  ): Record<FunctionName, FunctionSpec> {
    const { usersTable, temp, auditBucket } = storage;
    const environment = functionEnvironment<pulumi.Input<string>>({
      zone: config.zone,
      version: version ?? stack,
      usersTable: usersTable.table.name,
      tempBucket: temp.bucket.bucket,
      auditBucket: auditBucket.bucket.bucket,
      dataKeyArn: keys.dataKey.arn,
      signingKeyArn: keys.signingKey.arn,
      // Read from KMS at deploy time: the runtime verifies tokens without calling KMS.
      tokenJwks: aws.kms
        .getPublicKeyOutput({ keyId: keys.signingKey.arn }, { parent: this, provider: home })
        .publicKey.apply((der) => JSON.stringify({ keys: [publicJwkOf(Buffer.from(der, 'base64'))] })),
      emailMacKeyArn: keys.macKey.arn,
      issuer: api.url,
      audience: 'serenya-mobile',
      homeApi: api.url,
      zoneDirectory: JSON.stringify(config.zoneDirectory),
      residencies: config.residencies.join(','),
      googleClientIds: config.identity.googleClientIds.join(','),
      appleClientIds: config.identity.appleClientIds.join(','),
      appleSignInSecretArn: config.identity.appleSignInSecretArn,
      logLevel: 'INFO',
      modelId: config.bedrock.modelId,
      usdPerMillionInputTokens: String(config.bedrock.usdPerMillionInputTokens),
      usdPerMillionOutputTokens: String(config.bedrock.usdPerMillionOutputTokens),
      quotas: JSON.stringify(config.quotas),
      workerTimeoutSeconds: String(functionSizes.worker.timeout),
      ...storeEnvironment(config),
    });
    const inZoneModel = (Sid: string, action: string): Statement => ({
      Sid,
      Effect: 'Allow',
      Action: [action],
      Resource: modelArns,
    });
    const throughServices = keys.grantDataKeyThroughServices(config.homeRegion);
    return {
      api: {
        environment,
        grants: [
          usersTable.grantItems(),
          ...temp.grantJobObjects(),
          keys.grantDataKey(),
          keys.grantSign(),
          keys.grantMac(),
          ...this.playKeyGrants(config),
          ...this.appleKeyGrants(config),
        ],
      },
      worker: {
        environment,
        grants: [
          usersTable.grantJobUpdates(),
          ...temp.grantJobObjects(),
          throughServices,
          inZoneModel('InZoneModel', 'bedrock:InvokeModel'),
        ],
      },
      stream: {
        environment,
        grants: [
          ...usersTable.grantStreamRead(),
          auditBucket.grantWriteEvents(),
          throughServices,
          keys.grantOpen('OpenAppleRefreshTokens', appleTokenContext),
          ...this.appleKeyGrants(config),
          usersTable.grantAppleRevocations(),
        ],
      },
      // Streamed answers: the session and plan read, the slot reserved and freed; the model, streaming.
      chat: {
        environment,
        grants: [
          usersTable.grantStreamReservations(),
          inZoneModel('InZoneModelStream', 'bedrock:InvokeModelWithResponseStream'),
        ],
      },
    };
  }

  private createFunctions(
    name: string,
    { config, stack, code, transform }: ZoneArgs,
    roles: FunctionRoles['roles'],
    storage: ReturnType<Zone['createStorage']>,
    specs: Record<FunctionName, FunctionSpec>,
    inHome: Opts,
  ) {
    return new PlatformFunctions(
      `${name}-functions`,
      {
        namePrefix: `serenya-${stack}`,
        roles,
        functions: specs,
        table: storage.usersTable.table,
        logRetentionDays: config.logRetentionDays,
        apiReservedConcurrency: config.concurrency.apiReserved,
        apiProvisionedConcurrency: config.concurrency.apiProvisioned,
        workerReservedConcurrency: config.concurrency.workerReserved,
        code,
        transform: transform?.functions,
      },
      inHome,
    );
  }

  private createGeoDns(name: string, config: StackConfig, api: Api, inHome: Opts) {
    if (!config.domain || !api.domainNames.zone || !api.domainNames.global) return;
    new GeoDns(
      `${name}-dns`,
      {
        zone: config.zone,
        ...config.domain,
        zoneDomain: api.domainNames.zone,
        globalDomain: api.domainNames.global,
        continents: config.geoDns?.continents,
        countries: config.geoDns?.countries,
        answersDefault: config.geoDns?.answersDefault,
      },
      inHome,
    );
  }

  private createObservability(
    name: string,
    config: StackConfig,
    {
      keys,
      storage,
      api,
      functions,
      stage,
    }: {
      keys: ZoneKeys;
      storage: ReturnType<Zone['createStorage']>;
      api: Api;
      functions: PlatformFunctions;
      stage: ReturnType<Api['connect']>;
    },
    inHome: Opts,
  ) {
    return new Observability(
      `${name}-observability`,
      {
        zone: config.zone,
        region: config.homeRegion,
        alarmEmail: config.alarmEmail,
        kmsKeyArn: keys.dataKey.arn,
        functionNames: functions.names,
        streamFailureQueueName: functions.streamFailures.name,
        appleSignIn: !!config.identity.appleSignInSecretArn,
        restApiName: api.restApi.name,
        webAclName: api.webAcl.name,
        stageName: stage.stageName,
        tableName: storage.usersTable.table.name,
        tempBucketName: storage.temp.bucket.bucket,
        modelId: config.bedrock.modelId,
        llmCostAlarmUsdPerHour: config.llmCostAlarmUsdPerHour,
      },
      inHome,
    );
  }

  /** The Play Developer API key the API verifies purchases with, and its customer key if it has one. */
  private playKeyGrants({ subscriptions: { googlePlay } }: StackConfig): Statement[] {
    const { credentialsSecretArn, credentialsSecretKmsKeyArn } = googlePlay ?? {};
    return secretReadGrants('PlayDeveloperApiKey', credentialsSecretArn, credentialsSecretKmsKeyArn);
  }

  /** The Sign in with Apple key: the API exchanges codes, the stream function revokes deleted accounts' tokens. */
  private appleKeyGrants({ identity }: StackConfig): Statement[] {
    return secretReadGrants('SignInWithAppleKey', identity.appleSignInSecretArn, identity.appleSignInSecretKmsKeyArn);
  }

  /** The model grant, read from Bedrock's description of the zone's profile at deploy time. */
  private modelGrant(config: StackConfig, home: aws.Provider) {
    const { modelId } = config.bedrock;
    const args = { modelId, homeRegion: config.homeRegion, allowedRegions: config.allowedRegions };
    if (!profileGeography(modelId)) return pulumi.output(bedrockArns(args));
    const profile = aws.bedrock.getInferenceProfileOutput(
      { inferenceProfileId: modelId },
      { parent: this, provider: home },
    );
    return pulumi
      .all([profile.inferenceProfileArn, profile.models])
      .apply(([inferenceProfileArn, models]) =>
        bedrockArns({ ...args, profile: { inferenceProfileArn, modelArns: models.map((m) => m.modelArn) } }),
      );
  }

  private createProviders(name: string, args: ZoneArgs) {
    const provider = (region: string) =>
      new aws.Provider(
        `${name}-${region}`,
        {
          region: region as aws.Region,
          defaultTags: { tags: { project: 'serenya', zone: args.config.zone, stack: args.stack } },
        },
        { parent: this },
      );
    return {
      home: provider(args.config.homeRegion),
      replicas: Object.fromEntries(args.config.replicaRegions.map((region) => [region, provider(region)])),
    };
  }
}
