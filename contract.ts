import { createHash, createPublicKey, KeyObject } from 'node:crypto';

/**
 * The contract between the infrastructure (`components/`) and the runtime (`handlers/`):
 * the users table's shape and the names of the environment variables the Lambda reads.
 * It is the one module both sides import, so it stays free of dependencies (Node's own modules
 * only); if the
 * infrastructure and the runtime disagreed about a key name, a stack would deploy and fail.
 */

/** The single table of seed 002: everything of a user lives under `PK = USER#<id>`. */
export const usersTable = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Every key attribute of the table and its indexes (all strings). */
  keyAttributes: ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK'],
  /**
   * GSI1 finds a user by email (`EMAIL#<hmac>`), GSI2 by external account
   * (`EXTERNAL#<provider>#<sub>`). Keys only: encrypted fields are not copied into indexes.
   */
  globalSecondaryIndexes: [
    { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'KEYS_ONLY' },
    { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK', projection: 'KEYS_ONLY' },
  ],
  /** Epoch seconds; sessions, jobs and counters expire through it. */
  ttlAttribute: 'ttl',
  /** The audit stream needs both images to name changed attributes. */
  streamViewType: 'NEW_AND_OLD_IMAGES',
  billingMode: 'PAY_PER_REQUEST',
} as const;

/** A lowercase UUID, as every id the platform makes (users, sessions, jobs, store account tokens). */
export const uuidPattern = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const userPrefix = 'USER#';
const userPartition = (userId: string) => `${userPrefix}${userId}`;
const purchasePrefix = 'PURCHASE#';

/**
 * The users table's item keys, spelled once: the stores build them, the stream handler reads them
 * back, the tests and the offline tools seed with them. Everything of a user lives under
 * `USER#<id>`, so deleting an account finds it all with one query.
 */
export const itemKeys = {
  userPartition,
  /** The user of a `USER#<id>` partition key; undefined for the table's other partitions. */
  userIdOf: (pk: string) => (pk.startsWith(userPrefix) ? pk.slice(userPrefix.length) : undefined),
  profile: (userId: string) => ({ PK: userPartition(userId), SK: 'PROFILE' }),
  session: (userId: string, sessionId: string) => ({ PK: userPartition(userId), SK: `SESSION#${sessionId}` }),
  job: (userId: string, jobId: string) => ({ PK: userPartition(userId), SK: `JOB#${jobId}` }),
  /** The user's jobs in progress, one slot each, that expire on their own. */
  activeJobs: (userId: string) => ({ PK: userPartition(userId), SK: 'QUOTA#ACTIVE' }),
  /** The user's daily job counters for one UTC day (`YYYY-MM-DD`). */
  dailyJobs: (userId: string, day: string) => ({ PK: userPartition(userId), SK: `QUOTA#${day}` }),
  idempotency: (userId: string, key: string) => ({ PK: userPartition(userId), SK: `IDEMPOTENCY#${key}` }),
  storeNotification: (userId: string, provider: string, notificationId: string) => ({
    PK: userPartition(userId),
    SK: `NOTIFICATION#${provider}#${notificationId}`,
  }),
  /** One store purchase of the user, by a SHA-256 of its original transaction id or purchase token. */
  purchase: (userId: string, referenceHash: string) => ({
    PK: userPartition(userId),
    SK: `${purchasePrefix}${referenceHash}`,
  }),
  /** The sort key prefix of the user's purchases: one query reads them all. */
  purchasePrefix,
  /**
   * An account deletion not yet finished: written with the deletion fence, removed last. The
   * sweeper finds every one in this one partition (deletions are rare) and finishes it.
   */
  pendingDeletion: (userId: string) => ({ PK: 'DELETION', SK: userPartition(userId) }),
  /** The guard mapping a user's random store account token to the user. */
  storeAccount: (token: string) => ({ PK: `STORE_ACCOUNT#${token}`, SK: 'STORE_ACCOUNT' }),
  /** The guard that keeps one external account to one user; `external` is `externalIndex(…)`. */
  externalAccount: (external: string) => ({ PK: external, SK: 'EXTERNAL' }),
  /**
   * A Sign in with Apple refresh token waiting for Apple to confirm its revocation. All of them share
   * one partition, outside every user's, so an account's deletion leaves them, and one query lists them.
   */
  appleRevocation: (id: string) => ({ PK: 'APPLE_REVOCATION', SK: `APPLE_REVOCATION#${id}` }),
  /** GSI1's partition: a keyed MAC of the normalized email, never the email. */
  emailIndex: (emailMac: string) => `EMAIL#${emailMac}`,
  /** GSI2's partition: a keyed MAC of the provider's subject. */
  externalIndex: (provider: string, subjectMac: string) => `EXTERNAL#${provider}#${subjectMac}`,
} as const;

const jobsPrefix = 'jobs/';
const inputSuffix = '/input';
const inputKey = new RegExp(`^${jobsPrefix}(${uuidPattern})/(${uuidPattern})${inputSuffix}$`);

/**
 * The temp bucket's layout: `jobs/<userId>/<jobId>/input` and `…/result.json`, nothing else. The
 * lifecycle rule, the upload notification's filter and the functions' grants cover `jobsPrefix`;
 * the runtime and the offline S3 events use the same builders.
 */
export const tempBucketLayout = {
  jobsPrefix,
  /** Only an object ending so is an upload the worker hears of. */
  inputSuffix,
  /** Everything of one user's jobs, deleted with the account. */
  userPrefix: (userId: string) => `${jobsPrefix}${userId}/`,
  input: (userId: string, jobId: string) => `${jobsPrefix}${userId}/${jobId}${inputSuffix}`,
  result: (userId: string, jobId: string) => `${jobsPrefix}${userId}/${jobId}/result.json`,
  /** The user and job of an input key; undefined for any other key. */
  parseInput(key: string): { userId: string; jobId: string } | undefined {
    const match = inputKey.exec(key);
    return match ? { userId: match[1]!, jobId: match[2]! } : undefined;
  },
} as const;

/** The audit bucket's layout: PHI-free events, day-partitioned for Athena. */
export const auditBucketLayout = {
  /** The one prefix the stream function writes and the lifecycle rule keeps. */
  eventsPrefix: 'observability/',
} as const;

/**
 * The encryption context of personal data sealed with the Encryption SDK (`handlers/domain/users/pii-cipher.ts`).
 * KMS sees it on Decrypt, so key policies and roles can open one kind of message and not another:
 * the stream function opens only the Apple refresh token.
 */
export const piiEncryptionContext = {
  table: 'serenya:table',
  partition: 'serenya:key',
  /** One attribute sealed alone (the Apple refresh token). */
  attribute: 'serenya:attribute',
  /** A profile's fields sealed together, by format version. */
  format: 'serenya:format',
} as const;

/** An RS256 public key as served by `/.well-known/jwks.json` and handed to the runtime as `TOKEN_JWKS`. */
export interface PublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

/**
 * The JWK of an RSA public key (a KeyObject, or KMS's DER SubjectPublicKeyInfo), with its RFC 7638
 * thumbprint as `kid`. The stack turns the signing key's public key into the runtime's JWKS with
 * it at deploy time; the runtime serves and verifies with the same.
 */
export function publicJwkOf(key: KeyObject | Uint8Array): PublicJwk {
  const object =
    key instanceof KeyObject ? key : createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  const { n, e } = object.export({ format: 'jwk' }) as { n: string; e: string };
  const kid = createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }))
    .digest('base64url');
  return { kty: 'RSA', n, e, kid, alg: 'RS256', use: 'sig' };
}

/**
 * The per-user quotas of a zone, each with its default and its meaning, spelled once: the stack's
 * `serenya:quotas` (a stack file names only what it changes) and the runtime's `QUOTAS` variable
 * are both validated against these. Every job reaches the model, so every kind is bounded; doctor
 * reports are premium-only, hence no free cap.
 */
export const quotaSettings = {
  concurrentJobs: { default: 3, description: 'jobs a user may have in progress at once' },
  dailyDocumentsFree: { default: 20, description: 'document jobs a day on the free plan' },
  dailyDocumentsPremium: { default: 200, description: 'document jobs a day on the premium plan' },
  dailyChatFree: { default: 50, description: 'chat messages a day on the free plan' },
  dailyChatPremium: { default: 500, description: 'chat messages a day on the premium plan' },
  dailyDoctorReportsPremium: { default: 20, description: 'doctor reports a day (premium only)' },
} as const satisfies Record<string, { default: number; description: string }>;

/** A zone's quotas, every one set (positive integers). */
export type Quotas = Record<keyof typeof quotaSettings, number>;

/** Environment variables of the platform functions, by their names; values are names and ARNs, never secrets. */
export const envVars = {
  zone: 'SERENYA_ZONE',
  version: 'SERENYA_VERSION',
  region: 'AWS_REGION',
  usersTable: 'USERS_TABLE_NAME',
  tempBucket: 'TEMP_BUCKET_NAME',
  auditBucket: 'AUDIT_BUCKET_NAME',
  dataKeyArn: 'DATA_KEY_ARN',
  signingKeyArn: 'SIGNING_KEY_ARN',
  emailMacKeyArn: 'EMAIL_MAC_KEY_ARN',
  issuer: 'TOKEN_ISSUER',
  audience: 'TOKEN_AUDIENCE',
  homeApi: 'HOME_API',
  zoneDirectory: 'ZONE_DIRECTORY',
  /** The residencies this zone onboards (`residencyGroups`), comma-separated. */
  residencies: 'ZONE_RESIDENCIES',
  googleClientIds: 'GOOGLE_CLIENT_IDS',
  appleClientIds: 'APPLE_CLIENT_IDS',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  modelId: 'BEDROCK_MODEL_ID',
  usdPerMillionInputTokens: 'BEDROCK_USD_PER_MILLION_INPUT_TOKENS',
  usdPerMillionOutputTokens: 'BEDROCK_USD_PER_MILLION_OUTPUT_TOKENS',
  /** The zone's per-user quotas (`quotaSettings`), as one JSON object. */
  quotas: 'QUOTAS',
  workerTimeoutSeconds: 'WORKER_TIMEOUT_SECONDS',
  appleBundleId: 'APPLE_BUNDLE_ID',
  appleAppAppleId: 'APPLE_APP_APPLE_ID',
  appleEnvironment: 'APPLE_ENVIRONMENT',
  playPackageName: 'GOOGLE_PLAY_PACKAGE_NAME',
  playPushAudience: 'GOOGLE_PLAY_PUSH_AUDIENCE',
  playPushServiceAccount: 'GOOGLE_PLAY_PUSH_SERVICE_ACCOUNT',
  playDeveloperApiUrl: 'GOOGLE_PLAY_DEVELOPER_API_URL',
  playCredentialsSecretArn: 'GOOGLE_PLAY_CREDENTIALS_SECRET_ARN',
  /** The signing key's public JWKS, read from KMS at deploy time: verifying a token needs no KMS call. */
  tokenJwks: 'TOKEN_JWKS',
  appleIdApiUrl: 'APPLE_ID_API_URL',
  appleSignInSecretArn: 'APPLE_SIGN_IN_SECRET_ARN',
} as const;

export type EnvVar = keyof typeof envVars;

/** Variables a zone may leave out: the feature they configure is off, or the runtime's default is AWS's real endpoint. */
export const optionalEnvVars = [
  'appleBundleId',
  'appleAppAppleId',
  'appleEnvironment',
  'playPackageName',
  'playPushAudience',
  'playPushServiceAccount',
  'playDeveloperApiUrl',
  'playCredentialsSecretArn',
  'appleIdApiUrl',
  'appleSignInSecretArn',
] as const satisfies EnvVar[];

/** Set by Lambda itself: a function's configuration may not set it. */
export const lambdaEnvVars = ['region'] as const satisfies EnvVar[];

type OptionalEnvVar = (typeof optionalEnvVars)[number];

/**
 * What a stack must give each function: every variable the runtime needs, the optional ones when
 * their feature is on. The stack builds the environment through `functionEnvironment`, so a
 * variable left out or misspelled does not compile; the runtime's parser (`handlers/core/config.ts`)
 * is typed against the same names and the tests hold its required set to this one.
 */
export type FunctionEnvironment<V> = { [K in Exclude<EnvVar, OptionalEnvVar | (typeof lambdaEnvVars)[number]>]: V } & {
  [K in OptionalEnvVar]?: V;
};

/** The functions' environment variables, by name, from the contract's typed values (absent optional ones left out). */
export function functionEnvironment<V>(values: FunctionEnvironment<V>): Record<string, V> {
  return Object.fromEntries(
    Object.entries(values).flatMap(([key, value]) =>
      value === undefined ? [] : [[envVars[key as EnvVar], value as V]],
    ),
  );
}

/**
 * Custom CloudWatch metrics the runtime emits (as embedded-metric-format log lines, not API
 * calls) and the dashboards and alarms read.
 */
export const platformMetrics = {
  namespace: 'Serenya',
  /** Count per audit event type (dimension `type`), from the stream handler. */
  auditEvents: 'AuditEvents',
  /** Estimated Bedrock cost in USD, emitted with no dimension too so one alarm covers all models. */
  estimatedCost: 'EstimatedCostUSD',
  inputTokens: 'InputTokens',
  outputTokens: 'OutputTokens',
  /** Seconds the oldest Apple refresh token has waited for its revocation (0 when none), per sweep. */
  appleRevocationOldestAge: 'AppleRevocationOldestAgeSeconds',
  /** Apple refresh tokens waiting for their revocation, per sweep. */
  appleRevocationsPending: 'AppleRevocationsPending',
  /** Age of the oldest account deletion the sweeper could not finish (0 when none), per sweep. */
  pendingDeletionAge: 'PendingDeletionAgeSeconds',
  /** Account deletions a sweep tried to finish and could not. */
  deletionFailures: 'DeletionFailures',
  /** App Store notifications of another zone's account that its zone did not take (the store retries them). */
  notificationsNotHandedOn: 'StoreNotificationsNotHandedOn',
} as const;

/** Data-residency zones. A zone is a legal boundary, not a region: it may span several. */
export const zones = ['dev', 'eu', 'us'] as const;
export type Zone = (typeof zones)[number];

/**
 * The residency groups a zone may serve by name, spelled once. A zone's residencies are ISO 3166-1
 * alpha-2 codes, these groups' names, or `otherResidencies`.
 */
export const residencyGroups = {
  /** The EU's 27 member states and the EEA's other three (Iceland, Liechtenstein, Norway). */
  EEA: [
    'AT',
    'BE',
    'BG',
    'HR',
    'CY',
    'CZ',
    'DK',
    'EE',
    'FI',
    'FR',
    'DE',
    'GR',
    'HU',
    'IE',
    'IT',
    'LV',
    'LT',
    'LU',
    'MT',
    'NL',
    'PL',
    'PT',
    'RO',
    'SK',
    'SI',
    'ES',
    'SE',
    'IS',
    'LI',
    'NO',
  ],
} as const satisfies Record<string, readonly string[]>;

/** Every residency no other zone serves: the dev zone's, and the one zone that takes the rest of the world. */
export const otherResidencies = '*';

/** A value both a stack file and a function's environment hold: its pattern, and what it must look like. */
export interface ValueFormat {
  pattern: RegExp;
  description: string;
}

/** A zone's residencies as written in its stack file and its environment: a country, a group, or `*`. */
export const residencyFormat: ValueFormat = {
  pattern: new RegExp(`^([A-Z]{2}|${Object.keys(residencyGroups).join('|')}|\\${otherResidencies})$`),
  description: 'a country code (IE), a residency group (EEA) or * (every residency no other zone names)',
};

/** An AWS region's name. */
export const regionFormat: ValueFormat = {
  pattern: /^[a-z]{2}(-[a-z]+)+-\d$/,
  description: 'an AWS region such as eu-west-1',
};

/**
 * Where a zone takes store notifications (App Store Server Notifications, Play's Pub/Sub pushes),
 * under its own name: each zone's push subscription pushes here, and a zone hands an App Store
 * notification on to its owner here.
 */
export const storeNotificationPath = '/api/v1/subscriptions/webhook';

/** The route answered by the chat function through API Gateway's streaming integration (server-sent events). */
export const chatStreamPath = '/api/v1/chat/stream';
