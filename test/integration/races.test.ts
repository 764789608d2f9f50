import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVars } from '../../contract';
import { jsonDepth } from '../../handlers/web/middleware/json-depth';
import { labReport } from '../../local/fixtures/documents';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/**
 * The attacks of a pre-launch security review that got through, each reproduced here first:
 * deletion racing writers, a concurrency limit freed early, uncapped chat, prototype keys,
 * leftover uploads, deep JSON, an old refresh token replayed after many rotations.
 */
let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({ processing: true, env: { [envVars.quotas]: JSON.stringify({ dailyChatFree: 4 }) } });
});
afterAll(() => t.stop());

type User = Awaited<ReturnType<TestRuntime['onboard']>>;
const device = { platform: 'ios', deviceId: 'race-device', appVersion: '1.0.0' };
const slowModel = async <T>(delayMs: number, work: () => Promise<T>) => {
  t.standIn!.setFaults({ delayMs });
  try {
    return await work();
  } finally {
    t.standIn!.setFaults({});
  }
};
const objectsOf = async (userId: string) =>
  (
    (await t.clients.s3.send(new ListObjectsV2Command({ Bucket: t.config.tempBucket, Prefix: `jobs/${userId}/` })))
      .Contents ?? []
  ).map((o) => o.Key!);
const itemsOf = async (userId: string) =>
  (
    await t.deps.dynamo.send(
      new QueryCommand({
        TableName: t.config.usersTable,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `USER#${userId}` },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];
const chat = (user: User, message = 'Is a glucose of 112 worrying?') =>
  t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body: { message } });

async function upload(user: User) {
  const bytes = Buffer.from(labReport());
  const started = await t.request('POST', '/api/v1/process/upload', {
    token: user.accessToken,
    body: { contentType: 'text/plain', contentLength: bytes.length },
  });
  if (started.status !== 201) return started.status;
  const form = new FormData();
  for (const [name, value] of Object.entries(started.body.upload.fields as Record<string, string>))
    form.append(name, value);
  form.append('file', new Blob([bytes], { type: 'text/plain' }), 'report.txt');
  return (await fetch(started.body.upload.url, { method: 'POST', body: form })).status;
}

describe('deleting an account racing its own writers', () => {
  it.each([1, 2, 3])('leaves nothing behind and no live session (round %i)', async () => {
    const user = await t.onboard();
    const idToken = await t.identityProvider.mint('google', user.who);
    const outcome = await slowModel(300, async () => {
      // A chat in flight at the model, then deletion racing an upload, another chat and a sign-in.
      expect((await chat(user)).status).toBe(202);
      const [deleted, , , signin] = await Promise.all([
        t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken }),
        upload(user),
        chat(user),
        t.request('POST', '/api/v1/auth/oauth-signin', { body: { provider: 'google', idToken, device } }),
      ]);
      await t.uploads!.settled();
      return { deleted, signin };
    });
    expect(outcome.deleted.status).toBe(204);
    expect(await objectsOf(user.userId)).toEqual([]);
    expect(await itemsOf(user.userId)).toEqual([]);
    // Whatever the sign-in got, it holds no session now.
    if (outcome.signin.status === 200) {
      const { accessToken, refreshToken } = outcome.signin.body.tokens;
      expect((await t.request('GET', '/api/v1/user/profile', { token: accessToken })).status).toBe(401);
      expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } })).status).toBe(401);
    } else {
      expect(outcome.signin.status).toBe(404);
    }
    expect((await t.request('GET', '/api/v1/user/profile', { token: user.accessToken })).status).toBe(401);
  });

  it('refuses a sign-in, a refresh and a new job once the deletion has begun', async () => {
    const user = await t.onboard();
    await t.services.users.beginDeletion(user.userId);
    const idToken = await t.identityProvider.mint('google', user.who);
    expect(
      (await t.request('POST', '/api/v1/auth/oauth-signin', { body: { provider: 'google', idToken, device } })).status,
    ).toBe(404);
    expect(
      (await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })).body.error.code,
    ).toBe('INVALID_REFRESH_TOKEN');
    expect((await chat(user)).status).toBe(401);
    expect((await itemsOf(user.userId)).filter((i) => String(i.SK).startsWith('JOB#'))).toEqual([]);
  });
});

describe('the concurrent-job limit and the daily caps bound model calls', () => {
  it('keeps a job’s slot while the model works, even after its cleanup', async () => {
    const user = await t.onboard();
    const limit = t.config.quotas.concurrentJobs;
    t.standIn!.load.peak = 0;
    const statuses = await slowModel(2000, async () => {
      const seen: number[] = [];
      for (let i = 0; i < limit + 2; i++) {
        const inFlight = t.standIn!.load.inFlight;
        const res = await chat(user, `question ${i}`);
        seen.push(res.status);
        if (res.status !== 202) continue;
        // Once the model is working on it, clean it up, as the attacker did, hoping to free the slot.
        await expect.poll(() => t.standIn!.load.inFlight, { interval: 10, timeout: 5000 }).toBeGreaterThan(inFlight);
        expect(
          (await t.request('DELETE', `/api/v1/process/cleanup/${res.body.jobId}`, { token: user.accessToken })).status,
        ).toBe(204);
      }
      await t.uploads!.settled();
      return seen;
    });
    expect(statuses.slice(0, limit)).toEqual(Array(limit).fill(202));
    expect(statuses.slice(limit)).toEqual([429, 429]);
    expect(t.standIn!.load.peak).toBe(limit);
    // The worker has finished: the slots are free again.
    expect((await chat(user)).status).toBe(202);
    await t.uploads!.settled();
  });

  it('leaves a cleaned-up job a tombstone of ids, status and times', async () => {
    const user = await t.onboard();
    const res = await chat(user, 'What does a ferritin of 12 mean?');
    await t.uploads!.settled();
    await t.request('DELETE', `/api/v1/process/cleanup/${res.body.jobId}`, { token: user.accessToken });
    const tombstone = (await itemsOf(user.userId)).find((i) => i.SK === `JOB#${res.body.jobId}`)!;
    expect(Object.keys(tombstone).sort()).toEqual([
      'PK',
      'SK',
      'created_at',
      'entity',
      'job_id',
      'started_at',
      'status',
      'ttl',
      'updated_at',
      'user_id',
    ]);
  });

  it('caps chat messages a day per plan', async () => {
    const user = await t.onboard();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await chat(user, `question ${i}`);
      statuses.push(res.status);
      await t.uploads!.settled();
      if (res.status === 429) {
        expect(res.body.error.code).toBe('QUOTA_EXCEEDED');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([202, 202, 202, 202, 429]);
  });
});

describe('hostile input that passed the checks', () => {
  it.each(['toString', '__proto__', 'constructor', 'hasOwnProperty'])(
    'refuses the content type %s, spending nothing',
    async (contentType) => {
      const user = await t.onboard();
      const res = await t.request('POST', '/api/v1/process/upload', {
        token: user.accessToken,
        body: { contentType, contentLength: 10 },
      });
      expect(res.status).toBe(415);
      expect(
        (await itemsOf(user.userId)).filter(
          (i) => String(i.SK).startsWith('JOB#') || String(i.SK).startsWith('QUOTA#'),
        ),
      ).toEqual([]);
    },
  );

  it('refuses JSON nested 100 000 levels deep with a 400, before anything recurses', async () => {
    const user = await t.onboard();
    // Inside a lab result's free-form value, which the schema accepts as any JSON.
    const deep = `{"message":"hi","context":{"labResults":[{"x":${'['.repeat(100_000)}1${']'.repeat(100_000)}}]}}`;
    const res = await t.request('POST', '/api/v1/chat/messages', {
      token: user.accessToken,
      rawBody: deep,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect((await itemsOf(user.userId)).filter((i) => String(i.SK).startsWith('JOB#'))).toEqual([]);
  });

  it('counts depth as JSON does: brackets inside strings do not nest', () => {
    expect(jsonDepth('{"a":"[[[[{{{{\\"]]"}')).toBe(1);
    expect(jsonDepth('[[[]]]')).toBe(3);
  });

  it('deletes a second upload that arrives with a still-valid presigned POST after the job finished', async () => {
    const user = await t.onboard();
    const bytes = Buffer.from(labReport());
    const started = await t.request('POST', '/api/v1/process/upload', {
      token: user.accessToken,
      body: { contentType: 'text/plain', contentLength: bytes.length },
    });
    const post = async () => {
      const form = new FormData();
      for (const [name, value] of Object.entries(started.body.upload.fields as Record<string, string>))
        form.append(name, value);
      form.append('file', new Blob([bytes], { type: 'text/plain' }), 'report.txt');
      expect((await fetch(started.body.upload.url, { method: 'POST', body: form })).status).toBeLessThan(300);
      await t.uploads!.settled();
    };
    await post();
    expect(
      (await t.request('GET', `/api/v1/process/status/${started.body.jobId}`, { token: user.accessToken })).body.status,
    ).toBe('completed');
    await post();
    expect(await objectsOf(user.userId)).toEqual([`jobs/${user.userId}/${started.body.jobId}/result.json`]);
  });
});

describe('refresh-token reuse', () => {
  it('ends the session when a token spent 25 rotations ago comes back', async () => {
    const user = await t.onboard();
    let current = user.refreshToken;
    for (let i = 0; i < 25; i++) {
      const res = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: current } });
      expect(res.status).toBe(200);
      current = res.body.tokens.refreshToken;
    }
    const replay = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(replay.body.error.code).toBe('TOKEN_REUSED');
    // The session is over for the legitimate holder too.
    expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: current } })).status).toBe(401);
  });

  it('does not end a session for a guessed token of an older generation', async () => {
    const user = await t.onboard();
    const next = (await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } })).body
      .tokens.refreshToken as string;
    const [userId, sessionId] = user.refreshToken.split('.');
    const guessed = `${userId}.${sessionId}.0.${'A'.repeat(43)}.${'A'.repeat(22)}`;
    expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: guessed } })).body.error.code).toBe(
      'INVALID_REFRESH_TOKEN',
    );
    expect((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: next } })).status).toBe(200);
  });
});
