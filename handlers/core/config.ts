import { z } from 'zod';
import { envVars, residencyPattern, zones, type EnvVar, type PublicJwk } from '../../contract';

/** What the app needs to know about its zone; the same in Lambda, offline and in tests. */
export interface AppConfig {
  zone: (typeof zones)[number];
  region: string;
  version: string;
  usersTable: string;
  tempBucket: string;
  auditBucket: string;
  /** This zone's access-token issuer (`iss`). */
  issuer: string;
  audience: string;
  /** The API base URL the app pins after onboarding. */
  homeApi: string;
  /**
   * The residencies this zone onboards (countries, groups of `residencyGroups`, `*` for every one no
   * other zone serves): a user's zone is the one they declared residency in.
   */
  residencies: string[];
  /**
   * The other zones, by zone: a token of theirs is answered 421 with their `homeApi`, a resident of
   * theirs is sent there at onboarding, and their store notifications are handed on to them.
   */
  zoneDirectory: Record<string, ZoneEntry>;
  googleClientIds: string[];
  appleClientIds: string[];
  accessTokenTtlSeconds: number;
  /** A session ends this long after its last refresh… */
  sessionTtlSeconds: number;
  /** …and this long after it was opened, however often it was refreshed (then 401 SESSION_EXPIRED). */
  sessionLifetimeSeconds: number;
  /** Bedrock model or this zone's geographic inference profile (never `global.`). */
  modelId: string;
  /** USD per million tokens, for the cost metric. */
  pricing: { input: number; output: number };
  /**
   * Jobs in progress at once, and a daily cap per kind of job and plan: every job reaches the
   * model, so every kind is bounded (doctor reports are premium-only, hence no free cap).
   */
  quotas: {
    concurrentJobs: number;
    daily: Record<'document' | 'chat' | 'doctor_report', { free: number; premium: number }>;
  };
  /** The worker function's timeout: a job still processing after it (plus a margin) has failed. */
  workerTimeoutSeconds: number;
  /** How long a presigned upload stays valid. */
  uploadWindowSeconds: number;
  /** App Store Server Notifications: this app and environment. Absent: Apple notifications cannot verify. */
  appStore?: { bundleId: string; environment: 'Production' | 'Sandbox'; appAppleId?: number };
  /** Sign in with Apple's REST API (token exchange and revocation). */
  appleIdApiUrl: string;
  /** Google Play RTDN: this package and the push subscription's identity. Absent: Google notifications cannot verify. */
  googlePlay?: { packageName: string; pushAudience: string; pushServiceAccount: string; developerApiUrl: string };
}

/** Another zone, as this one knows it. */
export interface ZoneEntry {
  issuer: string;
  homeApi: string;
  /** @default [] (no one is sent there at onboarding) */
  residencies: string[];
}

/** KMS keys, only needed where the app runs against AWS. */
export interface AwsKeyConfig {
  dataKeyArn: string;
  signingKeyArn: string;
  emailMacKeyArn: string;
  /** Secrets Manager secret holding the Play Developer API service-account key. */
  playCredentialsSecretArn?: string;
  /** Secrets Manager secret holding the Sign in with Apple key (team id, key id, .p8). */
  appleSignInSecretArn?: string;
  /** The signing key's public JWK, from the stack: tokens verify without KMS. */
  signingPublicJwk: PublicJwk;
}

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1');
const name = z.string().min(3, 'a resource name');
const httpsOrLoopbackUrl = z
  .string()
  .url('a URL')
  .refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(u), 'https, or http on loopback');
const csv = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean));
const count = z.coerce.number().int().positive();
const price = z.coerce.number().nonnegative();
const modelId = z
  .string()
  .min(3)
  .refine((id) => !id.startsWith('global.'), "a bare model id or this zone's geographic inference profile; a global. profile may run anywhere in the world");
const kmsArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, 'a KMS key ARN');

const secretArn = z.string().regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'a Secrets Manager secret ARN');

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

const residency = z.string().regex(residencyPattern, 'a country code (IE), a residency group (EEA) or * (every residency no other zone names)');

const zoneDirectory = z
  .string()
  .default('{}')
  .pipe(
    jsonVariable(
      '{"<zone>": {"issuer": "...", "homeApi": "...", "residencies": ["EEA"]}}',
      z.partialRecord(
        z.enum(zones),
        z.strictObject({
          issuer: httpsOrLoopbackUrl,
          homeApi: httpsOrLoopbackUrl,
          residencies: z.array(residency).default([]),
        }),
      ),
    ),
  )
  .transform((directory) => directory as Record<string, ZoneEntry>);

const appEnv = z.object({
  [envVars.zone]: z.enum(zones),
  [envVars.region]: region,
  [envVars.version]: z.string().min(1).default('dev'),
  [envVars.usersTable]: name,
  [envVars.tempBucket]: name,
  [envVars.auditBucket]: name,
  [envVars.issuer]: httpsOrLoopbackUrl,
  [envVars.audience]: z.string().min(1),
  [envVars.homeApi]: httpsOrLoopbackUrl,
  [envVars.zoneDirectory]: zoneDirectory,
  [envVars.residencies]: z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
    .pipe(z.array(residency).min(1, 'at least one residency (* for everyone)')),
  [envVars.googleClientIds]: csv,
  [envVars.appleClientIds]: csv,
  [envVars.modelId]: modelId,
  [envVars.usdPerMillionInputTokens]: price,
  [envVars.usdPerMillionOutputTokens]: price,
  [envVars.concurrentJobs]: count.default(3),
  [envVars.dailyDocumentsFree]: count.default(20),
  [envVars.dailyDocumentsPremium]: count.default(200),
  [envVars.dailyChatFree]: count.default(50),
  [envVars.dailyChatPremium]: count.default(500),
  [envVars.dailyDoctorReportsPremium]: count.default(20),
  [envVars.workerTimeoutSeconds]: count.default(180),
  [envVars.appleBundleId]: z.string().min(1).optional(),
  [envVars.appleAppAppleId]: z.coerce.number().int().positive().optional(),
  [envVars.appleEnvironment]: z.enum(['Production', 'Sandbox']).optional(),
  [envVars.playPackageName]: z.string().min(1).optional(),
  [envVars.playPushAudience]: z.string().min(1).optional(),
  [envVars.playPushServiceAccount]: z.email().optional(),
  [envVars.playDeveloperApiUrl]: httpsOrLoopbackUrl.default('https://androidpublisher.googleapis.com'),
  [envVars.appleIdApiUrl]: httpsOrLoopbackUrl.default('https://appleid.apple.com'),
});

const awsKeyEnv = z.object({
  [envVars.dataKeyArn]: kmsArn,
  [envVars.signingKeyArn]: kmsArn,
  [envVars.emailMacKeyArn]: kmsArn,
  [envVars.playCredentialsSecretArn]: secretArn.optional(),
  [envVars.tokenJwks]: jsonVariable(
    '{"keys": [<the signing key\'s RS256 JWK>]}',
    z.object({ keys: z.tuple([z.object({ kty: z.literal('RSA'), n: z.string().min(300), e: z.string(), kid: z.string().min(20), alg: z.literal('RS256'), use: z.literal('sig') })]) }),
  ),
  [envVars.appleSignInSecretArn]: secretArn.optional(),
});

/**
 * Every variable of the contract has its parser (the log level is Powertools' own): a variable the
 * stack sets and the runtime ignores, or the reverse, does not compile.
 */
const lambdaEnv = z.object({ ...appEnv.shape, ...awsKeyEnv.shape } satisfies Record<(typeof envVars)[Exclude<EnvVar, 'logLevel'>], z.ZodType>);

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
    const variable = issue.path.join('.');
    // zod says "expected string, received undefined" for a missing variable; say it plainly.
    const missing = issue.code === 'invalid_type' && env[String(issue.path[0])] === undefined;
    return `${variable} ${missing ? 'is missing' : `must be ${issue.message.replace(/^Invalid input: /, '')}`}`;
  });
  throw new ConfigError(problems);
}

function toAppConfig(e: z.output<typeof appEnv>): AppConfig {
  const bundleId = e[envVars.appleBundleId];
  const packageName = e[envVars.playPackageName];
  const pushAudience = e[envVars.playPushAudience];
  const pushServiceAccount = e[envVars.playPushServiceAccount];
  const config: AppConfig = {
    zone: e[envVars.zone],
    region: e[envVars.region],
    version: e[envVars.version],
    usersTable: e[envVars.usersTable],
    tempBucket: e[envVars.tempBucket],
    auditBucket: e[envVars.auditBucket],
    issuer: e[envVars.issuer],
    audience: e[envVars.audience],
    homeApi: e[envVars.homeApi],
    residencies: e[envVars.residencies],
    zoneDirectory: e[envVars.zoneDirectory],
    googleClientIds: e[envVars.googleClientIds],
    appleClientIds: e[envVars.appleClientIds],
    accessTokenTtlSeconds: 900,
    sessionTtlSeconds: 30 * 24 * 3600,
    sessionLifetimeSeconds: 90 * 24 * 3600,
    modelId: e[envVars.modelId],
    pricing: { input: e[envVars.usdPerMillionInputTokens], output: e[envVars.usdPerMillionOutputTokens] },
    quotas: {
      concurrentJobs: e[envVars.concurrentJobs],
      daily: {
        document: { free: e[envVars.dailyDocumentsFree], premium: e[envVars.dailyDocumentsPremium] },
        chat: { free: e[envVars.dailyChatFree], premium: e[envVars.dailyChatPremium] },
        doctor_report: { free: 0, premium: e[envVars.dailyDoctorReportsPremium] },
      },
    },
    workerTimeoutSeconds: e[envVars.workerTimeoutSeconds],
    uploadWindowSeconds: 600,
    appleIdApiUrl: e[envVars.appleIdApiUrl],
    appStore: bundleId ? { bundleId, environment: e[envVars.appleEnvironment] ?? 'Production', appAppleId: e[envVars.appleAppAppleId] } : undefined,
    googlePlay:
      packageName && pushAudience && pushServiceAccount
        ? { packageName, pushAudience, pushServiceAccount, developerApiUrl: e[envVars.playDeveloperApiUrl] }
        : undefined,
  };
  const problems: string[] = [];
  if (config.googleClientIds.length + config.appleClientIds.length === 0) {
    problems.push(`${envVars.googleClientIds} or ${envVars.appleClientIds} must name at least one client id`);
  }
  if (config.appStore?.environment === 'Production' && !config.appStore.appAppleId) {
    problems.push(`${envVars.appleAppAppleId} is required when ${envVars.appleEnvironment} is Production`);
  }
  if (Object.values(config.zoneDirectory).some((z) => z.issuer === config.issuer)) {
    problems.push(`${envVars.zoneDirectory} must not list this zone's own issuer`);
  }
  if (Object.hasOwn(config.zoneDirectory, config.zone)) {
    problems.push(`${envVars.zoneDirectory} must not list this zone (${config.zone})`);
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** The app's configuration from environment variables (offline and tests use this too). */
export function parseAppConfig(env: Record<string, string | undefined>): AppConfig {
  return toAppConfig(parseEnv(appEnv, env));
}

/** Lambda: app configuration and KMS keys, validated together so one message names every problem. */
export function parseLambdaConfig(env: Record<string, string | undefined>): { app: AppConfig; keys: AwsKeyConfig } {
  const e = parseEnv(lambdaEnv, env);
  return {
    app: toAppConfig(e),
    keys: {
      dataKeyArn: e[envVars.dataKeyArn],
      signingKeyArn: e[envVars.signingKeyArn],
      emailMacKeyArn: e[envVars.emailMacKeyArn],
      playCredentialsSecretArn: e[envVars.playCredentialsSecretArn],
      appleSignInSecretArn: e[envVars.appleSignInSecretArn],
      signingPublicJwk: e[envVars.tokenJwks].keys[0],
    },
  };
}
