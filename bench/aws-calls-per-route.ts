import { createServer } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { envVars, itemKeys } from '../contract';
import { createAwsDeps } from '../handlers/edge/aws-deps';
import { parseLambdaConfig } from '../handlers/core/config';
import { createRuntime } from '../handlers/edge/runtime';
import { createLogger } from '../handlers/core/logger';
import { createServices } from '../handlers/services/services';
import type { DynamoDbLocal } from '../local/stand-ins/dynamodb-local';
import { listenOnLoopback } from '../local/listen';
import { ensureUsersTable } from '../local/create-users-table';
import { deployedAppEnv, deployedKeyEnv, deployedKmsKeys } from '../local/fixtures/deployed-env';
import { startKmsStandIn } from '../local/stand-ins/kms-stand-in';
import { registerUser } from '../local/fixtures/registered-user';
import { restEvent } from '../local/fixtures/rest-event';

/** Forwards to DynamoDB Local and counts each request by its operation: one request, one round trip. */
async function countingProxy(target: string) {
  const counts = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '?';
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const upstream = await fetch(target, {
      method: 'POST',
      headers: req.headers as Record<string, string>,
      body: Buffer.concat(chunks),
    });
    res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  const { url, close } = await listenOnLoopback(server);
  return { url, counts, stop: close };
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

/**
 * AWS calls per request, counted at the wire: the real Lambda dependencies (`createAwsDeps`, the
 * KMS keyring and its cache) against DynamoDB Local behind a counting proxy and the KMS stand-in.
 * These figures do not depend on the machine.
 */
export async function measureAwsCalls(dynamodb: DynamoDbLocal) {
  const proxy = await countingProxy(dynamodb.endpoint);
  const kms = await startKmsStandIn(deployedKmsKeys);
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: 'eu-west-1',
  });
  try {
    const env = { ...deployedAppEnv, ...deployedKeyEnv, [envVars.usersTable]: 'serenya-bench-calls' };
    const { app, keys } = parseLambdaConfig(env);
    await ensureUsersTable(
      new DynamoDBClient({
        endpoint: dynamodb.endpoint,
        region: app.region,
        credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      }),
      app.usersTable,
    );
    const fresh = () => createAwsDeps(app, keys, createLogger(app.zone, 'SILENT'));
    const setup = createServices(fresh());
    const { profile, token } = await registerUser(setup, {
      subject: `calls-${Date.now()}`,
      email: 'calls@example.com',
      name: 'Call Counter',
    });
    const jobId = crypto.randomUUID();
    const now = new Date().toISOString();
    await setup.dynamo.send(
      new PutCommand({
        TableName: app.usersTable,
        Item: {
          ...itemKeys.job(profile.id, jobId),
          entity: 'job',
          job_id: jobId,
          user_id: profile.id,
          type: 'chat',
          status: 'processing',
          content_type: 'application/json',
          created_at: now,
          updated_at: now,
          started_at: now,
        },
      }),
    );

    // A cold instance: the first request of a fresh process, then the same request again.
    const { handler } = createRuntime(fresh());
    const call = async (label: string, path: string) => {
      proxy.counts.clear();
      kms.counts.clear();
      const res = await handler(restEvent(path, token), {} as Context);
      if ((res as { statusCode: number }).statusCode !== 200)
        throw new Error(`aws-calls bench: ${label} answered ${(res as { statusCode: number }).statusCode}`);
      return { label, dynamodb: total(proxy.counts), kms: total(kms.counts), s3: 0 };
    };
    return [
      await call('profile, cold (data-key cache miss)', '/api/v1/user/profile'),
      await call('profile, warm (cache hit)', '/api/v1/user/profile'),
      await call('subscription', '/api/v1/subscriptions'),
      await call('job status', `/api/v1/process/status/${jobId}`),
      await call('chat status', `/api/v1/chat/status/${jobId}`),
    ];
  } finally {
    process.env = saved;
    await Promise.all([proxy.stop(), kms.stop()]);
  }
}
