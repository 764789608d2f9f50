import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import autocannon from 'autocannon';
import { itemKeys } from '../contract';
import type { DynamoDbLocal } from '../local/stand-ins/dynamodb-local';
import { ensureUsersTable } from '../local/create-users-table';
import { freePort } from '../local/free-port';
import { createLocalIdentityProvider } from '../local/stand-ins/identity-provider';
import { loadOrCreateLocalKeys } from '../local/local-keys';
import { localClientIds } from '../local/offline-config';

const consent = { version: '1.0', accepted: true };
const root = fileURLToPath(new URL('..', import.meta.url));

/** `npm start` in a process of its own, so the load generator does not share its event loop. */
async function startOfflinePlatform(port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/cli/start.ts', '--port', String(port)], {
    cwd: root,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error('npm start exited during the bench');
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error('npm start did not answer within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
  return { url, stop };
}

/**
 * `npm start`'s server under load on loopback: autocannon, 50 connections, on a job's status and
 * on the profile, as apps polling would hit them.
 */
export async function measureOfflineLoad(options: { seconds?: number; connections?: number } = {}) {
  const platform = await startOfflinePlatform(await freePort());
  try {
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(`${platform.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return (await res.json()) as any;
    };
    // The same local identity provider `npm run token` uses (keys in .local/).
    const identityProvider = createLocalIdentityProvider(
      loadOrCreateLocalKeys(`${root}/.local`).identityProviderKeyPem,
      localClientIds,
    );
    const idToken = await identityProvider.mint('google', {
      sub: `load-${Date.now()}`,
      email: 'load@example.com',
      name: 'Load Test',
    });
    const onboarded = await post('/api/v1/auth/oauth-onboarding', {
      provider: 'google',
      residency: 'IE',
      idToken,
      consents: { privacy_policy: consent, terms_of_service: consent, medical_disclaimer: consent },
      device: { platform: 'ios', deviceId: 'load', appVersion: '1.0.0' },
    });
    const token = onboarded.tokens.accessToken as string;
    const { jobId } = await post('/api/v1/process/upload', { contentType: 'text/plain', contentLength: 100 }, token);
    const routes = { status: `/api/v1/process/status/${jobId}`, profile: '/api/v1/user/profile' };
    const results: Record<string, { requestsPerSecond: number; p50Ms: number; p99Ms: number; errors: number }> = {};
    for (const [name, path] of Object.entries(routes)) {
      const r = await autocannon({
        url: `${platform.url}${path}`,
        connections: options.connections ?? 50,
        duration: options.seconds ?? 10,
        headers: { authorization: `Bearer ${token}` },
      });
      results[name] = {
        requestsPerSecond: r.requests.average,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
      };
    }
    return results;
  } finally {
    await platform.stop();
  }
}

/**
 * The store's own ceiling: DynamoDB Local answering a strongly consistent GetItem at the same
 * connections, straight from autocannon (it does not check signatures, so one signed-looking
 * request repeats). An authenticated read route cannot beat one round trip of it.
 */
export async function measureDynamoCeiling(
  dynamodb: DynamoDbLocal,
  options: { seconds?: number; connections?: number } = {},
) {
  const client = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const table = 'serenya-bench-ceiling';
  await ensureUsersTable(client, table);
  await DynamoDBDocumentClient.from(client).send(
    new PutCommand({ TableName: table, Item: { ...itemKeys.profile('ceiling'), entity: 'user' } }),
  );
  const r = await autocannon({
    url: dynamodb.endpoint,
    method: 'POST',
    connections: options.connections ?? 50,
    duration: options.seconds ?? 10,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.GetItem',
      'x-amz-date': '20260101T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=bench/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0',
    },
    body: JSON.stringify({
      TableName: table,
      Key: { PK: { S: itemKeys.profile('ceiling').PK }, SK: { S: itemKeys.profile('ceiling').SK } },
      ConsistentRead: true,
    }),
  });
  return {
    requestsPerSecond: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
  };
}
