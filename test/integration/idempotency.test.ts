import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/** Safe retries: a retried POST with one Idempotency-Key makes one job and spends one quota unit. */
let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({ processing: true });
});
afterAll(() => t.stop());

type User = Awaited<ReturnType<TestRuntime['onboard']>>;
const key = () => crypto.randomUUID();
const upload = (user: User, idempotencyKey?: string, contentLength = 1000) =>
  t.request('POST', '/api/v1/process/upload', {
    token: user.accessToken,
    body: { contentType: 'text/plain', contentLength },
    headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
  });
const itemsOf = async (user: User, prefix: string) =>
  (
    await t.deps.dynamo.send(
      new QueryCommand({
        TableName: t.config.usersTable,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
        ExpressionAttributeValues: { ':pk': `USER#${user.userId}`, ':sk': prefix },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

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
    const first = await t.request('POST', '/api/v1/chat/messages', {
      token: user.accessToken,
      body: message,
      headers: { 'idempotency-key': k },
    });
    const retry = await t.request('POST', '/api/v1/chat/messages', {
      token: user.accessToken,
      body: message,
      headers: { 'idempotency-key': k },
    });
    await t.uploads!.settled();
    expect([first.status, retry.status]).toEqual([202, 202]);
    expect(retry.body.jobId).toBe(first.body.jobId);
    const [record] = await itemsOf(user, 'IDEMPOTENCY#');
    expect(JSON.stringify(record)).not.toContain('ferritin');
    const report = { healthData: { labResults: [], vitals: [] } };
    expect(
      (
        await t.request('POST', '/api/v1/process/doctor-report', {
          token: user.accessToken,
          body: report,
          headers: { 'idempotency-key': 'not-a-uuid' },
        })
      ).status,
    ).toBe(400);
  });

  it('lets a retry run again after a refusal, and without the header behaves as before', async () => {
    const user = await t.onboard();
    const k = key();
    const refused = await t.request('POST', '/api/v1/process/upload', {
      token: user.accessToken,
      body: { contentType: 'text/plain' },
      headers: { 'idempotency-key': k },
    });
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

describe('Idempotency-Key, as AWS runs it', () => {
  const chat = (user: User, body: unknown, k: string) =>
    t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body, headers: { 'idempotency-key': k } });
  /** Moves the platform's clock for one test, and back. */
  async function later<T>(seconds: number, work: () => Promise<T>): Promise<T> {
    t.clock.advance(seconds);
    try {
      return await work();
    } finally {
      t.clock.advance(-seconds);
    }
  }
  const refreshed = async (user: User) =>
    (await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })).body.tokens
      .accessToken as string;

  it('keeps a request far over KMS’s 4 KiB MAC limit: a long chat with its history', async () => {
    const user = await t.onboard();
    const k = key();
    const content = 'Ferritin, haemoglobin, transferrin: é'.repeat(80);
    const turn = (role: 'user' | 'assistant') => ({ role, content });
    const history = [turn('user'), turn('assistant'), turn('user')];
    const body = { message: 'And what does that mean for my iron?', history };
    expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(2 * 4096);
    const first = await chat(user, body, k);
    const retry = await chat(user, body, k);
    await t.uploads!.settled();
    expect([first.status, retry.status]).toEqual([202, 202]);
    expect(retry.body.jobId).toBe(first.body.jobId);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
  });

  it('answers a retry after 24 h as new: an expired record DynamoDB has not deleted yet is not replayed', async () => {
    const user = await t.onboard();
    const k = key();
    const first = await upload(user, k);
    expect(first.status).toBe(201);
    const next = await later(24 * 3600 + 1, async () => upload({ ...user, accessToken: await refreshed(user) }, k));
    expect(next.status).toBe(201);
    expect(next.headers.get('idempotent-replayed')).toBeNull();
    expect(next.body.jobId).not.toBe(first.body.jobId);
  });

  it('replays an upload with a fresh presigned POST for the same job, and keeps no presigned fields', async () => {
    const user = await t.onboard();
    const k = key();
    const first = await upload(user, k);
    expect(first.status).toBe(201);
    // The record keeps the job's id: no policy, signature nor (in Lambda) the role's session token.
    const [record] = await itemsOf(user, 'IDEMPOTENCY#');
    expect(record!.response).toEqual({ status: 201, answerFrom: { jobId: first.body.jobId } });
    // Past the first answer's upload window, the replay is an upload that still works.
    const replay = await later(t.config.uploadWindowSeconds + 60, () => upload(user, k));
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.jobId).toBe(first.body.jobId);
    expect(Date.parse(replay.body.upload.expiresAt)).toBeGreaterThan(Date.parse(first.body.upload.expiresAt));
    expect(Object.keys(replay.body.upload.fields).sort()).toEqual(Object.keys(first.body.upload.fields).sort());
    const form = new FormData();
    const fields = replay.body.upload.fields as Record<string, string>;
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    // The POST takes exactly the declared length (1000 bytes).
    form.append('file', new Blob(['Ferritin 12 ng/mL'.padEnd(1000)], { type: 'text/plain' }), 'labs.txt');
    expect((await fetch(replay.body.upload.url, { method: 'POST', body: form })).status).toBe(204);
    await t.uploads!.settled();
    const status = await t.request('GET', `/api/v1/process/status/${first.body.jobId}`, { token: user.accessToken });
    expect(status.body.status).toBe('completed');
    expect(await itemsOf(user, 'JOB#')).toHaveLength(1);
  });

  it('does not write a record again under an account deleted while its request ran', async () => {
    const user = await t.onboard();
    const k = key();
    const claim = await t.services.idempotency.claim(user.userId, k, 'digest');
    expect(claim.kind).toBe('claimed');
    expect((await t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken })).status).toBe(204);
    const { attempt } = claim as { attempt: string };
    await t.services.idempotency.complete(user.userId, k, attempt, { status: 202, body: '{}' });
    expect(await itemsOf(user, 'IDEMPOTENCY#')).toEqual([]);
  });

  it('lets a first attempt that outlived its lock neither release nor answer for its retry', async () => {
    const user = await t.onboard();
    const k = key();
    const store = t.services.idempotency;
    const slow = (await store.claim(user.userId, k, 'digest')) as { kind: string; attempt: string };
    await later(31, async () => {
      const retry = (await store.claim(user.userId, k, 'digest')) as { kind: string; attempt: string };
      expect(retry.kind).toBe('claimed');
      // The slow first attempt fails late: the retry's claim stays, a third attempt waits for it.
      await store.release(user.userId, k, slow.attempt);
      expect((await store.claim(user.userId, k, 'digest')).kind).toBe('in_progress');
      await store.complete(user.userId, k, slow.attempt, { status: 202, body: '{"jobId":"slow"}' });
      await store.complete(user.userId, k, retry.attempt, { status: 202, body: '{"jobId":"retry"}' });
      const answered = { kind: 'completed', response: { status: 202, body: '{"jobId":"retry"}' } };
      expect(await store.claim(user.userId, k, 'digest')).toEqual(answered);
    });
  });
});
