import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPlatform, type TestPlatform } from './support/test-platform';

/** Safe retries: a retried POST with one Idempotency-Key makes one job and spends one quota unit. */
let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform({ processing: true });
});
afterAll(() => t.stop());

type User = Awaited<ReturnType<TestPlatform['onboard']>>;
const key = () => crypto.randomUUID();
const upload = (user: User, idempotencyKey?: string, contentLength = 1000) =>
  t.request('POST', '/api/v1/process/upload', {
    token: user.accessToken,
    body: { contentType: 'text/plain', contentLength },
    headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
  });
const itemsOf = async (user: User, prefix: string) =>
  ((await t.deps.dynamo.send(new QueryCommand({ TableName: t.config.usersTable, KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)', ExpressionAttributeValues: { ':pk': `USER#${user.userId}`, ':sk': prefix }, ConsistentRead: true }))).Items ?? []);

describe('Idempotency-Key', () => {
  it('returns the first answer to a retry, and spends nothing more', async () => {
    const user = await t.onboard();
    const k = key();
    const first = await upload(user, k);
    expect(first.status).toBe(201);
    const retry = await upload(user, k);
    expect(retry.status).toBe(201);
    expect(retry.body.jobId).toBe(first.body.jobId);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await itemsOf(user, 'JOB#')).toHaveLength(1);
    const [daily] = await itemsOf(user, `QUOTA#${new Date().toISOString().slice(0, 10)}`);
    expect(daily!.documents).toBe(1);
  });

  it('makes exactly one job of ten concurrent duplicates; the others get the answer or 409 REQUEST_IN_PROGRESS', async () => {
    const user = await t.onboard();
    const k = key();
    const answers = await Promise.all(Array.from({ length: 10 }, () => upload(user, k)));
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => a.body.jobId)).size).toBe(1);
    for (const a of answers.filter((x) => x.status !== 201)) {
      expect(a.status).toBe(409);
      expect(a.body.error).toMatchObject({ code: 'REQUEST_IN_PROGRESS', retryable: true });
    }
    expect(await itemsOf(user, 'JOB#')).toHaveLength(1);
  });

  it('refuses the same key with another body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const user = await t.onboard();
    const k = key();
    expect((await upload(user, k, 1000)).status).toBe(201);
    const reused = await upload(user, k, 2000);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await itemsOf(user, 'JOB#')).toHaveLength(1);
  });

  it('covers chat messages and doctor reports too, and keeps no content in the record', async () => {
    const user = await t.onboard();
    const k = key();
    const message = { message: 'Idempotency canary question about ferritin' };
    const first = await t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body: message, headers: { 'idempotency-key': k } });
    const retry = await t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body: message, headers: { 'idempotency-key': k } });
    await t.uploads!.settled();
    expect([first.status, retry.status]).toEqual([202, 202]);
    expect(retry.body.jobId).toBe(first.body.jobId);
    const [record] = await itemsOf(user, 'IDEMPOTENCY#');
    expect(JSON.stringify(record)).not.toContain('ferritin');
    const report = { healthData: { labResults: [], vitals: [] } };
    expect((await t.request('POST', '/api/v1/process/doctor-report', { token: user.accessToken, body: report, headers: { 'idempotency-key': 'not-a-uuid' } })).status).toBe(400);
  });

  it('lets a retry run again after a refusal, and without the header behaves as before', async () => {
    const user = await t.onboard();
    const k = key();
    const refused = await t.request('POST', '/api/v1/process/upload', { token: user.accessToken, body: { contentType: 'text/plain' }, headers: { 'idempotency-key': k } });
    expect(refused.status).toBe(400);
    expect(await itemsOf(user, 'IDEMPOTENCY#')).toEqual([]);
    expect((await upload(user)).status).toBe(201);
    expect((await upload(user)).status).toBe(201);
    expect(await itemsOf(user, 'JOB#')).toHaveLength(2);
  });

  it('is deleted with the account', async () => {
    const user = await t.onboard();
    await upload(user, key());
    expect(await itemsOf(user, 'IDEMPOTENCY#')).toHaveLength(1);
    await t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken });
    expect(await itemsOf(user, 'IDEMPOTENCY#')).toEqual([]);
  });
});
