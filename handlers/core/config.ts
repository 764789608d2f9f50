import { z } from 'zod';
import {
  envVars,
  quotaSettings,
  regionFormat,
  residencyFormat,
  zones,
  type EnvVar,
  type PublicJwk,
  type Quotas,
} from '../../contract';

/*
 * The runtime's configuration, in one place: one zod schema per group of variables, keyed by the
 * variables' own names, each with its meaning (`.describe`) and default. The app's configuration
 * is what the schema makes of them (`AppConfig` is its output type), and `docs/configuration.md`'s
 * table is generated from the same schemas (`npm run docs:config`).
 */

const region = z.string().regex(regionFormat.pattern, regionFormat.description);
const name = z.string().min(3, 'a resource name');
const httpsOrLoopbackUrl = z
  .string()
  .url('a URL')
  .refine(
    (u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(u),
    'https, or http on loopback',
  );
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);
const price = z.coerce.number().nonnegative();
const modelId = z
  .string()
  .min(3)
  .refine(
    (id) => !id.startsWith('global.'),
    "a bare model id or this zone's geographic inference profile; a global. profile may run anywhere in the world",
  );
const kmsArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, 'a KMS key ARN');
const secretArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'a Secrets Manager secret ARN');

/** A variable holding JSON of `schema`'s shape; `example` is what the error message shows. */
const jsonVariable = <T extends z.ZodType>(example: string, schema: T) =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `JSON: ${example}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const residency = z.string().regex(residencyFormat.pattern, residencyFormat.description);

const zoneEntry = z.strictObject({
  issuer: httpsOrLoopbackUrl,
  homeApi: httpsOrLoopbackUrl,
  /** @default [] (no one is sent there at onboarding) */
  residencies: z.array(residency).default([]),
});
/** Another zone, as this one knows it. */
export type ZoneEntry = z.output<typeof zoneEntry>;

/** The zone's quotas, each defaulting to the contract's `quotaSettings`: a variable names only what it changes. */
export const quotasSchema = z.strictObject(
  Object.fromEntries(
    Object.entries(quotaSettings).map(([key, q]) => [
      key,
      z.number().int().positive().default(q.default).describe(q.description),
    ]),
  ) as Record<keyof Quotas, z.ZodDefault<z.ZodNumber>>,
);

/** What the app reads, by variable. */
const appEnv = z.object({
  [envVars.zone]: z.enum(zones).describe(`data-residency zone: ${zones.map((z) => `\`${z}\``).join(', ')}`),
  [envVars.region]: region.describe("the zone's home region (set by Lambda)"),
  [envVars.version]: z.string().min(1).default('dev').describe('build version shown by `/health`'),
  [envVars.usersTable]: name.describe('the users table'),
  [envVars.tempBucket]: name.describe('uploads and results, hours long'),
  [envVars.auditBucket]: name.describe('audit events, 7 years'),
  [envVars.issuer]: httpsOrLoopbackUrl.describe("this zone's access-token `iss` (https)"),
  [envVars.audience]: z.string().min(1).describe('access-token `aud`'),
  [envVars.homeApi]: httpsOrLoopbackUrl.describe('the base URL the app pins after onboarding'),
  [envVars.zoneDirectory]: jsonVariable(
    '{"<zone>": {"issuer": "...", "homeApi": "...", "residencies": ["EEA"]}}',
    z.partialRecord(z.enum(zones), zoneEntry),
  )
    .default({})
    .describe(
      'the other zones: JSON `{"us": {"issuer", "homeApi", "residencies"}}`; their tokens and residents get 421, ' +
        'their App Store notifications are handed on to them',
    ),
  [envVars.residencies]: list
    .pipe(z.array(residency).min(1, 'at least one residency (* for everyone)'))
    .describe(
      'the residencies this zone onboards, comma-separated: countries, `EEA`, `*` (every residency no zone names)',
    ),
  [envVars.googleClientIds]: list.default([]).describe('comma-separated OAuth client ids accepted as ID-token `aud`'),
  [envVars.appleClientIds]: list.default([]).describe('comma-separated Apple bundle / service ids'),
  [envVars.logLevel]: z
    .string()
    .optional()
    .describe("Powertools' own: `DEBUG`, `INFO` (its default), `WARN`, `ERROR`, `SILENT`"),
  [envVars.modelId]: modelId.describe(
    "a bare model id or this zone's geographic inference profile; a `global.` profile stops start-up",
  ),
  [envVars.usdPerMillionInputTokens]: price.describe('input-token price, for the estimated-cost metric'),
  [envVars.usdPerMillionOutputTokens]: price.describe('output-token price, for the estimated-cost metric'),
  [envVars.quotas]: z
    .string()
    .default('{}')
    .pipe(jsonVariable('{"dailyChatFree": 50, …}', quotasSchema))
    .describe('the per-user quotas, one JSON object such as `{"dailyChatFree": 50}`; each quota is optional (below)'),
  [envVars.workerTimeoutSeconds]: z.coerce
    .number()
    .int()
    .positive()
    .default(180)
    .describe("the worker function's timeout; a job silent past it (plus a minute) reads as failed"),
  [envVars.appleBundleId]: z
    .string()
    .min(1)
    .optional()
    .describe('the App Store app whose notifications verify; absent, Apple notifications cannot verify'),
  [envVars.appleAppAppleId]: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe("the app's Apple ID (a number); required when the environment is `Production`"),
  [envVars.appleEnvironment]: z
    .enum(['Production', 'Sandbox'])
    .optional()
    .describe('the App Store environment (`Production` when absent)'),
  [envVars.playPackageName]: z.string().min(1).optional().describe('the Play package whose notifications verify'),
  [envVars.playPushAudience]: z.string().min(1).optional().describe("the Play push subscription's audience"),
  [envVars.playPushServiceAccount]: z.email().optional().describe("the Play push subscription's service account"),
  [envVars.playDeveloperApiUrl]: httpsOrLoopbackUrl
    .default('https://androidpublisher.googleapis.com')
    .describe('Play Developer API base URL'),
  [envVars.appleIdApiUrl]: httpsOrLoopbackUrl
    .default('https://appleid.apple.com')
    .describe('Sign in with Apple REST API base URL'),
});

const jwk = z.object({
  kty: z.literal('RSA'),
  n: z.string().min(300),
  e: z.string(),
  kid: z.string().min(20),
  alg: z.literal('RS256'),
  use: z.literal('sig'),
});

/** What only a deployed Lambda reads: its KMS keys and secrets. */
const awsKeyEnv = z.object({
  [envVars.dataKeyArn]: kmsArn.describe('KMS multi-Region key: PII fields (Encryption SDK), table and buckets'),
  [envVars.signingKeyArn]: kmsArn.describe('KMS RSA_2048 key that signs access tokens'),
  [envVars.emailMacKeyArn]: kmsArn.describe('KMS HMAC_256 key that keys the email index'),
  [envVars.playCredentialsSecretArn]: secretArn
    .optional()
    .describe('Secrets Manager secret with the Play Developer API service-account key'),
  [envVars.tokenJwks]: jsonVariable(
    '{"keys": [<the signing key\'s RS256 JWK>]}',
    z.object({ keys: z.tuple([jwk]) }),
  ).describe(
    "the signing key's public JWKS, read from KMS by the stack at deploy time: verifying a token " +
      '(also at cold start) makes no KMS call',
  ),
  [envVars.appleSignInSecretArn]: secretArn
    .optional()
    .describe(
      'Secrets Manager secret with the Sign in with Apple key (`teamId`, `keyId`, `privateKey`); ' +
        'absent, authorization codes are ignored',
    ),
});

/**
 * Every variable of the contract has its schema: a variable the stack sets and the runtime
 * ignores, or the reverse, does not compile. The reference table is generated from it.
 */
export const lambdaEnv = z.object({ ...appEnv.shape, ...awsKeyEnv.shape } satisfies Record<
  (typeof envVars)[EnvVar],
  z.ZodType
>);

type AppEnv = z.output<typeof appEnv>;
type Issues = { addIssue(issue: { code: 'custom'; message: string; path: never[] }): void };

/** The app's view of its variables, checked across variables (each problem named). */
function appConfigOf(e: AppEnv, ctx: Issues) {
  const bundleId = e[envVars.appleBundleId];
  const packageName = e[envVars.playPackageName];
  const pushAudience = e[envVars.playPushAudience];
  const pushServiceAccount = e[envVars.playPushServiceAccount];
  const quotas = e[envVars.quotas];
  const config = {
    zone: e[envVars.zone],
    region: e[envVars.region],
    version: e[envVars.version],
    usersTable: e[envVars.usersTable],
    tempBucket: e[envVars.tempBucket],
    auditBucket: e[envVars.auditBucket],
    /** This zone's access-token issuer (`iss`). */
    issuer: e[envVars.issuer],
    audience: e[envVars.audience],
    /** The API base URL the app pins after onboarding. */
    homeApi: e[envVars.homeApi],
    /**
     * The residencies this zone onboards (countries, groups of `residencyGroups`, `*` for every one no
     * other zone serves): a user's zone is the one they declared residency in.
     */
    residencies: e[envVars.residencies],
    /**
     * The other zones, by zone: a token of theirs is answered 421 with their `homeApi`, a resident of
     * theirs is sent there at onboarding, and their store notifications are handed on to them.
     */
    zoneDirectory: e[envVars.zoneDirectory] as Record<string, ZoneEntry>,
    googleClientIds: e[envVars.googleClientIds],
    appleClientIds: e[envVars.appleClientIds],
    accessTokenTtlSeconds: 900,
    /** A session ends this long after its last refresh… */
    sessionTtlSeconds: 30 * 24 * 3600,
    /** …and this long after it was opened, however often it was refreshed (then 401 SESSION_EXPIRED). */
    sessionLifetimeSeconds: 90 * 24 * 3600,
    /** Bedrock model or this zone's geographic inference profile (never `global.`). */
    modelId: e[envVars.modelId],
    /** USD per million tokens, for the cost metric. */
    pricing: { input: e[envVars.usdPerMillionInputTokens], output: e[envVars.usdPerMillionOutputTokens] },
    /** Jobs in progress at once, and a daily cap per kind of job and plan (`quotaSettings`). */
    quotas: {
      concurrentJobs: quotas.concurrentJobs,
      daily: {
        document: { free: quotas.dailyDocumentsFree, premium: quotas.dailyDocumentsPremium },
        chat: { free: quotas.dailyChatFree, premium: quotas.dailyChatPremium },
        doctor_report: { free: 0, premium: quotas.dailyDoctorReportsPremium },
      },
    } satisfies { concurrentJobs: number; daily: Record<string, { free: number; premium: number }> },
    /** The worker function's timeout: a job still processing after it (plus a margin) has failed. */
    workerTimeoutSeconds: e[envVars.workerTimeoutSeconds],
    /** How long a presigned upload stays valid. */
    uploadWindowSeconds: 600,
    /** Sign in with Apple's REST API (token exchange and revocation). */
    appleIdApiUrl: e[envVars.appleIdApiUrl],
    /** App Store Server Notifications: this app and environment. Absent: Apple notifications cannot verify. */
    appStore: bundleId
      ? { bundleId, environment: e[envVars.appleEnvironment] ?? 'Production', appAppleId: e[envVars.appleAppAppleId] }
      : undefined,
    /** Google Play RTDN: this package and the push subscription's identity. Absent: they cannot verify. */
    googlePlay:
      packageName && pushAudience && pushServiceAccount
        ? { packageName, pushAudience, pushServiceAccount, developerApiUrl: e[envVars.playDeveloperApiUrl] }
        : undefined,
  };
  const problem = (message: string) => ctx.addIssue({ code: 'custom', message, path: [] });
  if (config.googleClientIds.length + config.appleClientIds.length === 0) {
    problem(`${envVars.googleClientIds} or ${envVars.appleClientIds} must name at least one client id`);
  }
  if (config.appStore?.environment === 'Production' && !config.appStore.appAppleId) {
    problem(`${envVars.appleAppAppleId} is required when ${envVars.appleEnvironment} is Production`);
  }
  if (Object.values(config.zoneDirectory).some((z) => z.issuer === config.issuer)) {
    problem(`${envVars.zoneDirectory} must not list this zone's own issuer`);
  }
  if (Object.hasOwn(config.zoneDirectory, config.zone)) {
    problem(`${envVars.zoneDirectory} must not list this zone (${config.zone})`);
  }
  return config;
}

function awsKeysOf(e: z.output<typeof awsKeyEnv>) {
  const signingPublicJwk: PublicJwk = e[envVars.tokenJwks].keys[0];
  return {
    dataKeyArn: e[envVars.dataKeyArn],
    signingKeyArn: e[envVars.signingKeyArn],
    emailMacKeyArn: e[envVars.emailMacKeyArn],
    /** Secrets Manager secret holding the Play Developer API service-account key. */
    playCredentialsSecretArn: e[envVars.playCredentialsSecretArn],
    /** Secrets Manager secret holding the Sign in with Apple key (team id, key id, .p8). */
    appleSignInSecretArn: e[envVars.appleSignInSecretArn],
    /** The signing key's public JWK, from the stack: tokens verify without KMS. */
    signingPublicJwk,
  };
}

const appConfig = appEnv.transform(appConfigOf);
const lambdaConfig = lambdaEnv.transform((e, ctx) => ({ app: appConfigOf(e, ctx), keys: awsKeysOf(e) }));

/** What the app needs to know about its zone; the same in Lambda, offline and in tests. */
export type AppConfig = z.output<typeof appConfig>;
/** KMS keys and secrets, only needed where the app runs against AWS. */
export type AwsKeyConfig = ReturnType<typeof awsKeysOf>;

/** Start-up stops with one message that names every bad variable at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration; fix these environment variables: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

function parseEnv<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    // A problem across variables (no path) is a whole sentence already.
    if (issue.path.length === 0) return issue.message;
    const variable = issue.path.join('.');
    // zod says "expected string, received undefined" for a missing variable; say it plainly.
    const missing = issue.code === 'invalid_type' && env[String(issue.path[0])] === undefined;
    return `${variable} ${missing ? 'is missing' : `must be ${issue.message.replace(/^Invalid input: /, '')}`}`;
  });
  throw new ConfigError(problems);
}

/** The app's configuration from environment variables (offline and tests use this too). */
export function parseAppConfig(env: Record<string, string | undefined>): AppConfig {
  return parseEnv(appConfig, env);
}

/** Lambda: app configuration and KMS keys, validated together so one message names every problem. */
export function parseLambdaConfig(env: Record<string, string | undefined>): { app: AppConfig; keys: AwsKeyConfig } {
  return parseEnv(lambdaConfig, env);
}
