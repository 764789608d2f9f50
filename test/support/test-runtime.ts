import { randomUUID, type X509Certificate } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { envVars, piiEncryptionContext } from '../../contract';
import type { Clock } from '../../handlers/core/clock';
import type { Deps } from '../../handlers/services/deps';
import { createLogger } from '../../handlers/core/logger';
import { createRuntime } from '../../handlers/edge/runtime';
import { profileRecordFormat } from '../../handlers/domain/users/pii-cipher';
import { startAppleIdStandIn } from '../../local/stand-ins/apple-id-stand-in';
import { startBedrockStandIn } from '../../local/stand-ins/bedrock-stand-in';
import type { LocalIdentity } from '../../local/stand-ins/identity-provider';
import { generateLocalKeys, type LocalKeys } from '../../local/local-keys';
import { createLocalDeps } from '../../local/local-deps';
import { offlineConfig } from '../../local/offline-config';
import { ensureUsersTable } from '../../local/create-users-table';
import { startS3Local } from '../../local/stand-ins/s3-local';
import { forwardUploads } from '../../local/stand-ins/upload-events';
import { startStreamPoller } from '../../local/stand-ins/stream-poller';
import { asFunction, record, recordAwsCalls } from './aws-call-log';
import { runDynamoDb } from './run-dynamodb';
import { startStoreStandIns } from './store-stand-ins';

/** Another zone, so tests can present its tokens. */
export const euZone = { issuer: 'https://api.eu.serenya.test', homeApi: 'https://api.eu.serenya.test' };
export const apiUrl = 'http://127.0.0.1:3000';

const consent = { version: '1.0', accepted: true };
export const consents = { privacy_policy: consent, terms_of_service: consent, medical_disclaimer: consent };
export const device = { platform: 'ios', deviceId: 'device-1', appVersion: '1.0.0' };

export interface TestResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

let keysOfThisWorker: LocalKeys | undefined;
/**
 * One set of local keys per test worker: each file's table and buckets are its own, so sharing the
 * keys proves nothing less, and two RSA keys per runtime were the integration tests' largest CPU cost.
 */
const workerKeys = () => (keysOfThisWorker ??= generateLocalKeys());

/** A clock tests can move; starts at real time so ID tokens minted now are valid. */
export function movableClock(): Clock & { advance(seconds: number): void } {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (s) => (offset += s * 1000) };
}

/** The metrics switch as the worker had it before any runtime set it. */
const metricsSwitch = process.env.POWERTOOLS_METRICS_DISABLED;

/**
 * The real app against DynamoDB Local and s3rver (started once per run by global-setup), with a
 * fresh table and buckets for this test file, and the worker's local keys unless a test brings its own.
 */
export async function createTestRuntime(
  options: {
    keys?: LocalKeys;
    logLevel?: string;
    processing?: boolean;
    env?: Record<string, string>;
    /** Pinned App Store roots (tests pin their own test root). */
    appStoreRoots?: X509Certificate[];
    /** A Play Developer API stand-in. */
    playDeveloperApiUrl?: string;
    /** Start the Sign in with Apple stand-in (token exchange and revocation). */
    appleId?: boolean;
    /** Hand the table's stream to the stream function, as Lambda's event source mapping does. */
    stream?: boolean;
    /** Start store stand-ins of its own (`startStoreStandIns`) and verify purchases against them. */
    stores?: boolean;
  } = {},
) {
  const stores = options.stores ? await startStoreStandIns() : undefined;
  if (stores) options = { ...options, ...stores.runtime };
  const suffix = randomUUID().slice(0, 8);
  const keys = options.keys ?? workerKeys();
  const clock = movableClock();
  const config = offlineConfig({
    apiUrl,
    usersTable: `users-${suffix}`,
    tempBucket: `temp-${suffix}`,
    auditBucket: `audit-${suffix}`,
    playDeveloperApiUrl: options.playDeveloperApiUrl,
    env: { [envVars.zoneDirectory]: JSON.stringify({ eu: euZone }), ...options.env },
  });
  // Quiet unless a test reads the logs (the privacy tests log everything, down to DEBUG, and
  // the metrics). Powertools Metrics reads this switch when the instance is made, below.
  const logger = createLogger(config.zone, options.logLevel ?? 'SILENT');
  process.env.POWERTOOLS_METRICS_DISABLED = options.logLevel ? 'false' : 'true';
  // Processing needs S3's upload events in this process, so such a file gets its own s3rver
  // (and Bedrock stand-in); the others share the run's s3rver.
  const ownS3 = options.processing ? await startS3Local({ buckets: [] }) : undefined;
  const standIn = options.processing ? await startBedrockStandIn() : undefined;
  const appleId = options.appleId
    ? await startAppleIdStandIn({ identityProviderKeyPem: keys.identityProviderKeyPem })
    : undefined;
  const { deps, clients, identityProvider, bedrock } = createLocalDeps({
    config,
    endpoints: {
      dynamodb: await runDynamoDb(),
      s3: ownS3?.endpoint ?? inject('s3Endpoint'),
      bedrock: standIn?.endpoint ?? 'http://127.0.0.1:9',
    },
    keys,
    logger,
    clock,
    appStoreRoots: options.appStoreRoots,
    appleId: appleId && { url: appleId.url, key: appleId.key },
  });
  recordCallsOf(deps, [clients.dynamoClient, clients.s3, bedrock], {
    table: config.usersTable,
    tempBucket: config.tempBucket,
    auditBucket: config.auditBucket,
  });
  await ensureUsersTable(clients.dynamoClient, config.usersTable);
  for (const Bucket of [config.tempBucket, config.auditBucket])
    await clients.s3.send(new CreateBucketCommand({ Bucket }));
  // The same front door as Lambda and npm start.
  const runtime = createRuntime(deps);
  const { services, app } = runtime;
  const uploads = ownS3
    ? forwardUploads(ownS3, {
        bucket: config.tempBucket,
        region: config.region,
        handler: (event) => asFunction('worker', () => runtime.uploads(event)),
        onError: (err) => {
          throw err;
        },
      })
    : undefined;
  const stream = options.stream
    ? startStreamPoller({
        dynamo: clients.dynamoClient,
        streams: clients.streams,
        table: config.usersTable,
        region: config.region,
        handler: (event) => asFunction('stream', () => runtime.streamBatches(event)),
        intervalMs: 50,
      })
    : undefined;
  const stop = async () => {
    await stream?.stop();
    await uploads?.settled();
    await Promise.all([ownS3?.stop(), standIn?.stop(), appleId?.stop(), stores?.stop()]);
    // The worker's next file starts from the switch as it found it (files share the worker).
    if (metricsSwitch === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = metricsSwitch;
  };

  async function request<T = any>(
    method: string,
    path: string,
    init: { body?: unknown; token?: string; headers?: Record<string, string>; rawBody?: string } = {},
  ): Promise<TestResponse<T>> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined = init.rawBody;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await asFunction('api', () => app.request(path, { method, headers, body }));
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  let counter = 0;
  /** A unique Google identity (or the given one). */
  const identity = (who: Partial<LocalIdentity> = {}): LocalIdentity => {
    const n = `${suffix}-${++counter}`;
    return {
      sub: `sub-${n}`,
      email: `user-${n}@example.com`,
      name: `Test User ${n}`,
      givenName: 'Test',
      familyName: `User ${n}`,
      ...who,
    };
  };

  async function onboard(who: LocalIdentity = identity(), provider: 'google' | 'apple' = 'google') {
    const idToken = await identityProvider.mint(provider, who);
    const res = await request('POST', '/api/v1/auth/oauth-onboarding', {
      body: { provider, residency: 'IE', idToken, consents, device },
    });
    if (res.status !== 201) throw new Error(`onboarding failed: ${res.status} ${JSON.stringify(res.body)}`);
    return {
      who,
      userId: res.body.user.id as string,
      accessToken: res.body.tokens.accessToken as string,
      refreshToken: res.body.tokens.refreshToken as string,
      body: res.body,
    };
  }

  /** Every item in this file's table, as stored. */
  async function rawItems(): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await deps.dynamo.send(
      new ScanCommand({ TableName: config.usersTable, ConsistentRead: true }),
    );
    return Items;
  }

  return {
    app,
    runtime,
    deps,
    services,
    bedrock,
    clients,
    config,
    keys,
    clock,
    identityProvider,
    standIn,
    appleId,
    uploads,
    stream,
    stores,
    request,
    identity,
    onboard,
    rawItems,
    stop,
  };
}

export type TestRuntime = Awaited<ReturnType<typeof createTestRuntime>>;

/**
 * Records the AWS calls the runtime makes (see `aws-calls.ts`): at the SDK clients, and at the
 * offline key services for the KMS calls the AWS keyring and signer would make in their place.
 */
function recordCallsOf(
  deps: Deps,
  clients: Parameters<typeof recordAwsCalls>[0][],
  names: Parameters<typeof recordAwsCalls>[1],
) {
  for (const client of clients) recordAwsCalls(client, names);
  const { signer, emailMac, pii } = deps;
  deps.signer = {
    // In AWS the public key comes from the environment (TOKEN_JWKS): no KMS call to record.
    publicJwk: () => signer.publicJwk(),
    sign: (message) => (record('kms:Sign', { kind: 'key', key: 'signing' }), signer.sign(message)),
  };
  deps.emailMac = { mac: (email) => (record('kms:GenerateMac', { kind: 'key', key: 'mac' }), emailMac.mac(email)) };
  // With the part of the encryption context that says what a message holds (KMS conditions read it).
  const sealed = (attribute: string) => ({
    kind: 'key' as const,
    key: 'data' as const,
    context: { [piiEncryptionContext.attribute]: attribute },
  });
  const profileRecord = {
    kind: 'key' as const,
    key: 'data' as const,
    context: { [piiEncryptionContext.format]: profileRecordFormat },
  };
  deps.pii = {
    seal: (...args) => (record('kms:GenerateDataKey', sealed(args[1])), pii.seal(...args)),
    open: (...args) => (record('kms:Decrypt', sealed(args[1])), pii.open(...args)),
    sealRecord: (...args) => (record('kms:GenerateDataKey', profileRecord), pii.sealRecord(...args)),
    openRecord: (...args) => (record('kms:Decrypt', profileRecord), pii.openRecord(...args)),
  };
}

/** Everything written to stdout and stderr while `fn` runs (Powertools writes there), kept off the console. */
export async function captureOutput(fn: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const capture = (stream: NodeJS.WriteStream) => {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(String(chunk));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    return () => (stream.write = original);
  };
  const restore = [capture(process.stdout), capture(process.stderr)];
  try {
    await fn();
  } finally {
    for (const r of restore) r();
  }
  return chunks.join('');
}
