import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { quotaSettings, regionFormat, residencyFormat, storeNotificationPath, zones, type Quotas } from '../contract';
import { profileGeography } from './bedrock-arns';
import { releaseStrategies } from './releases';

const region = z.string().regex(regionFormat.pattern, regionFormat.description);
/**
 * A value a platform engineer must set for the real account. The stack files ship `SET-ME …`
 * placeholders (and AWS's documentation account 123456789012 is refused too), so a stack that
 * was never filled in stops at preview naming each value, not halfway through `pulumi up`.
 */
const accountValue = <T extends z.ZodString>(schema: T, what: string) =>
  z
    .string()
    .refine((v) => !/^SET-ME/i.test(v), `set this to ${what}`)
    .refine(
      (v) => !v.includes('123456789012') && !/EXAMPLE/.test(v),
      `${what}: this is a documentation placeholder, not your account's value`,
    )
    .pipe(schema);
const positive = z.number().int().positive();
/** The contract's quotas, each a positive integer with its default. */
const quotas = z.strictObject(
  Object.fromEntries(Object.entries(quotaSettings).map(([key, q]) => [key, positive.default(q.default)])) as Record<
    keyof Quotas,
    z.ZodDefault<typeof positive>
  >,
);
const residency = z.string().regex(residencyFormat.pattern, residencyFormat.description);
/** A Google OAuth client id as Google Cloud Console issues it: `<project number>-<id>.apps.googleusercontent.com`. */
const googleClientId = accountValue(
  z
    .string()
    .regex(
      /^\d+-[a-z0-9]+\.apps\.googleusercontent\.com$/,
      'a Google OAuth client id (<project number>-<id>.apps.googleusercontent.com, Google Cloud Console → Credentials); sign-in refuses tokens for any other audience',
    ),
  'the app’s Google OAuth client id (Google Cloud Console → APIs & Services → Credentials)',
);
/** The app's Apple ID, the number App Store Connect shows; App Store notifications name it. */
const appAppleId = z
  .preprocess(
    (v) => (typeof v === 'number' ? String(v) : v),
    accountValue(
      z.string().regex(/^[1-9]\d{8,11}$/, 'the app’s Apple ID, a number such as 1234567890'),
      'the app’s Apple ID (App Store Connect → App Information → Apple ID)',
    ),
  )
  .transform(Number);
const secretArn = z
  .string()
  .regex(
    /^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
    'the full ARN of a Secrets Manager secret, ending in the -XXXXXX suffix (aws secretsmanager describe-secret --secret-id … --query ARN)',
  );
/** A secret's customer managed key: the key's ARN, in the secret's region. */
const secretKeyArn = z.string().regex(/^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/.+$/, 'a KMS key ARN');
/** The retention periods CloudWatch Logs accepts. */
const logRetentionDays = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Geographic inference-profile prefixes, by the home region's geography. */
const profilePrefixOf = (homeRegion: string) =>
  homeRegion.startsWith('eu-')
    ? 'eu.'
    : homeRegion.startsWith('us-')
      ? 'us.'
      : homeRegion.startsWith('ap-')
        ? 'apac.'
        : undefined;

/** One zone's stack configuration, as `Pulumi.<stack>.yaml` holds it under `serenya:`. */
export const stackConfigSchema = z
  .strictObject({
    zone: z.enum(zones),
    /** Production stacks keep data through deletes: PITR, deletion protection, no force-destroy. */
    production: z.boolean(),
    homeRegion: region,
    replicaRegions: z.array(region).default([]),
    /** Every region the zone may create anything in or call; home, replicas and Bedrock's regions must be inside. */
    allowedRegions: z.array(region).min(1),
    bedrock: z.strictObject({
      /** A bare model id (invoked in the home region) or this zone's geographic inference profile. */
      modelId: z.string().min(3),
      /** The regions the profile routes to (the home region alone for a bare model id). */
      inferenceRegions: z.array(region).min(1),
      usdPerMillionInputTokens: z.number().nonnegative(),
      usdPerMillionOutputTokens: z.number().nonnegative(),
    }),
    domain: z
      .strictObject({
        /** This zone's own API name, pinned by the app after onboarding. */
        zoneName: z.string().min(3),
        /** The geo-DNS name every zone answers for its locations. */
        globalName: z.string().min(3),
        /** The Route 53 public hosted zone that serves both names (checked against Route 53 at preview). */
        hostedZoneId: accountValue(
          z.string().regex(/^Z[A-Z0-9]{4,32}$/, 'a Route 53 hosted zone id (Z…)'),
          'the id of the Route 53 hosted zone serving zoneName and globalName',
        ),
        /**
         * ACM gives every certificate of the global name in one account the same validation record;
         * exactly one stack per account creates it (and is deployed first), the others only use it.
         */
        ownsGlobalValidationRecord: z.boolean(),
      })
      .optional(),
    geoDns: z
      .strictObject({
        continents: z.array(z.enum(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'])).default([]),
        countries: z.array(z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 country code')).default([]),
        answersDefault: z.boolean().default(false),
      })
      .optional(),
    identity: z.strictObject({
      /** The OAuth client ids whose Google ID tokens sign a user in (the audience Google puts in them). */
      googleClientIds: z.array(googleClientId).default([]),
      appleClientIds: z.array(z.string().min(1)).default([]),
      /**
       * Secrets Manager secret (full ARN, in the zone) with the Sign in with Apple key as JSON
       * `{ teamId, keyId, privateKey }`: the server exchanges Apple's authorization codes and revokes
       * the tokens when an account is deleted (required in production, where App Review asks for it).
       * @default none: authorization codes are ignored
       */
      appleSignInSecretArn: accountValue(
        secretArn,
        'the full ARN of the secret holding the Sign in with Apple key',
      ).optional(),
      /** The customer managed KMS key the Apple secret is encrypted with. @default the AWS managed key aws/secretsmanager */
      appleSignInSecretKmsKeyArn: secretKeyArn.optional(),
    }),
    /**
     * The residencies this zone onboards: ISO 3166-1 alpha-2 codes, groups of the contract's
     * `residencyGroups` (EEA), or `*` for every residency no other zone names. A user's zone is the
     * one they declare residency in at onboarding; geo-DNS only picks the first API they reach.
     */
    residencies: z.array(residency).min(1),
    /** The other zones: their issuer, API and residencies, as their own stack files declare them. */
    zoneDirectory: z
      .partialRecord(
        z.enum(zones),
        z.strictObject({ issuer: z.url(), homeApi: z.url(), residencies: z.array(residency).min(1) }),
      )
      .default({}),
    alarmEmail: z.email(),
    logRetentionDays: z.number().refine((d) => logRetentionDays.includes(d), `one of ${logRetentionDays.join(', ')}`),
    pointInTimeRecovery: z.boolean(),
    deletionProtection: z.boolean(),
    /** Per-user quotas; each defaults to the contract's `quotaSettings`, so a stack names only what it changes. */
    quotas: quotas.prefault({}),
    concurrency: z.strictObject({
      apiReserved: positive.optional(),
      apiProvisioned: z.number().int().nonnegative().default(0),
      /** The worker's ceiling: model calls in flight at once across the zone (a cost guard, with the quotas). */
      workerReserved: positive,
    }),
    throttling: z.strictObject({
      rateLimit: positive,
      burstLimit: positive,
      wafRequestsPer5MinPerIp: z.number().int().min(100),
      /** WAF's per-client limit, keyed by the bearer token; the stage's throttle is shared by every client. */
      wafRequestsPer5MinPerToken: z.number().int().min(100).default(600),
    }),
    llmCostAlarmUsdPerHour: z.number().positive(),
    /** How a new version reaches users: CodeDeploy shifts each function's `live` alias, rolling back on alarm. */
    release: z.strictObject({ strategy: z.enum(releaseStrategies) }),
    /**
     * API Gateway's CloudWatch Logs role is one setting per account and region. Exactly one stack
     * per account and region manages it; the others find it set (preflight checks it).
     */
    managesApiGatewayAccount: z.boolean(),
    /**
     * IAM roles that administer the zone's KMS keys (key policy, rotation, deletion, replication into
     * allowedRegions). The role that runs `pulumi up` must be one: KMS refuses a key policy that would
     * lock its caller out. @default the stack's CI deploy role, arn:aws:iam::<account>:role/serenya-ci-<stack>
     */
    keyAdministrators: z
      .array(z.string().regex(/^arn:aws:iam::\d{12}:role\/.+$/, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)'))
      .min(1)
      .optional(),
    /** The stores whose notifications this zone accepts; each absent store's webhooks answer 401. */
    subscriptions: z
      .strictObject({
        appStore: z
          .strictObject({
            bundleId: z.string().min(1),
            environment: z.enum(['Production', 'Sandbox']),
            appAppleId: appAppleId.optional(),
          })
          .optional(),
        googlePlay: z
          .strictObject({
            packageName: z.string().min(1),
            pushAudience: z.string().min(1),
            pushServiceAccount: z.email(),
            /**
             * Secrets Manager secret (in the zone) with the Play Developer API service-account key: its
             * full ARN, with the `-XXXXXX` suffix Secrets Manager appends, since IAM matches full ARNs.
             */
            credentialsSecretArn: accountValue(
              secretArn,
              'the full ARN of the secret holding the Play Developer API key',
            ),
            /** The customer managed KMS key the secret is encrypted with. @default the AWS managed key aws/secretsmanager */
            credentialsSecretKmsKeyArn: secretKeyArn.optional(),
          })
          .optional(),
      })
      .default({}),
  })
  .superRefine((c, ctx) => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const allowed = new Set(c.allowedRegions);
    const list = c.allowedRegions.join(', ');
    if (!allowed.has(c.homeRegion))
      problem('homeRegion', `${c.homeRegion} is outside this zone's allowedRegions (${list})`);
    for (const r of c.replicaRegions) {
      if (!allowed.has(r)) problem('replicaRegions', `${r} is outside this zone's allowedRegions (${list})`);
      if (r === c.homeRegion) problem('replicaRegions', `${r} is the home region; a replica must be another region`);
    }
    // `eu.anthropic.claude…` is a profile (geography, provider, model); `anthropic.claude…` a bare model.
    const geography = profileGeography(c.bedrock.modelId);
    const ownPrefix = profilePrefixOf(c.homeRegion);
    if (geography === 'global') {
      problem(
        'bedrock',
        `modelId ${c.bedrock.modelId} is a global inference profile, which may run anywhere in the world; use this zone's ${ownPrefix ?? 'geographic'} profile or a bare model id`,
      );
    } else if (geography !== undefined && `${geography}.` !== ownPrefix) {
      problem(
        'bedrock',
        `modelId ${c.bedrock.modelId} is the ${geography} geography's inference profile; a zone homed in ${c.homeRegion} may use only ${ownPrefix ?? 'a bare model id'}`,
      );
    } else if (geography === undefined && c.bedrock.inferenceRegions.some((r) => r !== c.homeRegion)) {
      problem('bedrock', `a bare model id runs in the home region only; set inferenceRegions to [${c.homeRegion}]`);
    }
    for (const r of c.bedrock.inferenceRegions) {
      if (!allowed.has(r)) problem('bedrock', `inference region ${r} is outside this zone's allowedRegions (${list})`);
    }
    if (c.identity.googleClientIds.length + c.identity.appleClientIds.length === 0) {
      problem('identity', 'name at least one Google or Apple client id');
    }
    if (c.production) {
      if (c.identity.appleClientIds.length && !c.identity.appleSignInSecretArn) {
        problem(
          'identity',
          'appleSignInSecretArn is required in production: without it Sign in with Apple cannot revoke a deleted account’s tokens, which App Review requires',
        );
      }
      if (!c.pointInTimeRecovery) problem('pointInTimeRecovery', 'must be true in a production stack');
      if (!c.deletionProtection) problem('deletionProtection', 'must be true in a production stack');
      if (!c.domain) problem('domain', 'a production stack needs its domain');
    }
    if (c.geoDns && !c.domain) problem('geoDns', 'geo-DNS records need serenya:domain');
    // Play publishes to one topic; each zone's own push subscription pushes to its own name.
    const ownWebhook = c.domain && `https://${c.domain.zoneName}${storeNotificationPath}`;
    if (ownWebhook && c.subscriptions.googlePlay && c.subscriptions.googlePlay.pushAudience !== ownWebhook) {
      const why = 'every zone has its own push subscription';
      problem('subscriptions', `googlePlay.pushAudience must be this zone's own webhook, ${ownWebhook}: ${why}`);
    }
    const secretRegion = c.subscriptions.googlePlay?.credentialsSecretArn.split(':')[3];
    if (secretRegion && !allowed.has(secretRegion))
      problem(
        'subscriptions',
        `the Play credentials secret is in ${secretRegion}, outside this zone's allowedRegions (${list})`,
      );
    const appleSecretRegion = c.identity.appleSignInSecretArn?.split(':')[3];
    if (appleSecretRegion && !allowed.has(appleSecretRegion))
      problem(
        'identity',
        `the Sign in with Apple secret is in ${appleSecretRegion}, outside this zone's allowedRegions (${list})`,
      );
    const secretKeyRegion = c.subscriptions.googlePlay?.credentialsSecretKmsKeyArn?.split(':')[3];
    if (secretKeyRegion && secretKeyRegion !== secretRegion)
      problem(
        'subscriptions',
        `credentialsSecretKmsKeyArn is in ${secretKeyRegion}; a secret's key lives in the secret's region (${secretRegion})`,
      );
    const appleKeyRegion = c.identity.appleSignInSecretKmsKeyArn?.split(':')[3];
    if (appleKeyRegion && appleKeyRegion !== appleSecretRegion) {
      problem(
        'identity',
        `appleSignInSecretKmsKeyArn is in ${appleKeyRegion}; a secret's key lives in the secret's region (${appleSecretRegion ?? 'set appleSignInSecretArn'})`,
      );
    }
    if (c.subscriptions.appStore?.environment === 'Production' && !c.subscriptions.appStore.appAppleId) {
      problem('subscriptions', 'appStore.appAppleId is required for the Production environment');
    }
  });

export type StackConfig = z.output<typeof stackConfigSchema>;

export class StackConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `The stack configuration is refused; fix these values in Pulumi.<stack>.yaml:\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'StackConfigError';
  }
}

/** Validates a zone's configuration before any resource exists; every problem is named at once. */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
  const result = stackConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new StackConfigError(
    result.error.issues.map((i) => `serenya:${i.path.join('.')}: ${i.message.replace(/^Invalid input: /, '')}`),
  );
}

/**
 * Reads the whole `serenya:` namespace of the current stack (objects arrive as JSON strings): a key
 * the schema does not know — a typo, or a retired setting — is refused, not silently ignored.
 */
export function loadStackConfig(): StackConfig {
  const prefix = 'serenya:';
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(prefix)) continue;
    try {
      raw[key.slice(prefix.length)] = JSON.parse(value);
    } catch {
      raw[key.slice(prefix.length)] = value;
    }
  }
  return parseStackConfig(raw);
}
