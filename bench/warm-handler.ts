import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import { itemKeys } from '../contract';
import { systemClock } from '../handlers/core/clock';
import type { Deps } from '../handlers/services/deps';
import { createIdTokenVerifier } from '../handlers/domain/identity/id-tokens';
import { createRuntime } from '../handlers/edge/runtime';
import { createLogger } from '../handlers/core/logger';
import { createMetrics } from '../handlers/core/metrics';
import { createServices } from '../handlers/services/services';
import { createPiiCipher } from '../handlers/domain/users/pii-cipher';
import { createLocalKeyServices } from '../local/stand-ins/key-services';
import { generateLocalKeys } from '../local/local-keys';
import { offlineConfig } from '../local/offline-config';
import { createExpressHandler } from './baselines/express-app';
import { memoryDynamo } from './memory-dynamo';
import { registerUser } from '../local/fixtures/registered-user';
import { restEvent } from '../local/fixtures/rest-event';

/** The same dependencies for both contenders: local keys, in-memory DynamoDB, no I/O. */
async function fakeDeps() {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const config = offlineConfig({ apiUrl: 'http://127.0.0.1:3000' });
  const keys = createLocalKeyServices(generateLocalKeys());
  const dynamo = memoryDynamo();
  const deps: Deps = {
    config,
    clock: systemClock,
    logger: createLogger(config.zone, 'SILENT'),
    metrics: createMetrics(),
    dynamo,
    s3: {} as Deps['s3'],
    model: {} as Deps['model'],
    chatModel: {} as Deps['chatModel'],
    signer: keys.signer,
    emailMac: keys.emailMac,
    pii: createPiiCipher(async () => keys.dataKeyring, config.usersTable),
    idTokens: createIdTokenVerifier({ google: config.googleClientIds, apple: config.appleClientIds }),
    subscriptions: { appStoreRoots: [] },
  };
  const p = createServices(deps);
  const { profile, token } = await registerUser(p, {
    subject: 'bench-user',
    email: 'bench@example.com',
    name: 'Bench User',
    givenName: 'Bench',
    familyName: 'User',
  });
  // Today's design, for the baseline: the same user written one sealed message per field.
  const legacy = await legacyUser(p, dynamo);
  const jobId = randomUUID();
  const now = new Date().toISOString();
  const jobKey = itemKeys.job(profile.id, jobId);
  dynamo.items.set(`${jobKey.PK}|${jobKey.SK}`, {
    ...jobKey,
    entity: 'job',
    job_id: jobId,
    user_id: profile.id,
    type: 'document',
    status: 'completed',
    content_type: 'text/plain',
    created_at: now,
    updated_at: now,
    started_at: now,
  });
  return { deps, token, jobId, legacyToken: legacy.token };
}

/** A second user whose profile is stored as the first session stored it: a message per field. */
async function legacyUser(p: ReturnType<typeof createServices>, dynamo: ReturnType<typeof memoryDynamo>) {
  const { profile, token } = await registerUser(p, {
    subject: 'bench-legacy',
    email: 'legacy@example.com',
    name: 'Legacy User',
    givenName: 'Legacy',
    familyName: 'User',
  });
  const profileKey = itemKeys.profile(profile.id);
  const key = `${profileKey.PK}|${profileKey.SK}`;
  const { pii: _record, pii_version: _version, ...item } = dynamo.items.get(key)!;
  const seal = (attribute: 'email' | 'name' | 'given_name' | 'family_name' | 'device_id', value: string) =>
    p.pii.seal(profile.id, attribute, value);
  dynamo.items.set(key, {
    ...item,
    email: await seal('email', 'legacy@example.com'),
    name: await seal('name', 'Legacy User'),
    given_name: await seal('given_name', 'Legacy'),
    family_name: await seal('family_name', 'User'),
    current_device: { platform: 'ios', app_version: '1.0.0', device_id: await seal('device_id', 'bench') },
  });
  return { token };
}

async function measure(
  handler: (event: unknown, context: Context) => Promise<any>,
  event: () => unknown,
  seconds: number,
) {
  const context = {} as Context;
  for (let i = 0; i < 200; i++) await handler(event(), context); // warm up (JIT, caches)
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    const res = await handler(event(), context);
    latencies.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(`warm bench: ${res.statusCode} ${res.body}`);
  }
  latencies.sort((a, b) => a - b);
  return { opsPerSecond: latencies.length / seconds, p99Ms: latencies[Math.floor(latencies.length * 0.99)]! };
}

/** In-process ops/s and p99 for REST v1 events through the Lambda handler, beside Express + serverless-http. */
export async function measureWarmHandlers(seconds = 3) {
  const { deps, token, jobId, legacyToken } = await fakeDeps();
  const contenders = {
    hono: createRuntime(deps).handler,
    express: createExpressHandler(deps) as unknown as (e: unknown, c: Context) => Promise<any>,
  };
  const routes = {
    health: () => restEvent('/health'),
    status: () => restEvent(`/api/v1/process/status/${jobId}`, token),
    profile: () => restEvent('/api/v1/user/profile', token),
  };
  const results: Record<string, Record<string, { opsPerSecond: number; p99Ms: number }>> = {};
  for (const [route, event] of Object.entries(routes)) {
    results[route] = {};
    for (const [name, handler] of Object.entries(contenders))
      results[route]![name] = await measure(handler, event, seconds);
  }
  // Today's design: Express, two round trips (session, then profile), a message per field.
  results.profile!.todaysDesign = await measure(
    contenders.express,
    () => restEvent('/api/v1/user/profile', legacyToken),
    seconds,
  );
  return results;
}
