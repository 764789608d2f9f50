import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { envVars } from '../../contract';
import { asFunction } from '../support/aws-call-log';
import { readEvents } from '../support/sse-client';
import { captureOutput, createTestRuntime, type TestRuntime } from '../support/test-runtime';

/**
 * `POST /chat/stream`: the answer as server-sent events while the model writes it, under a chat
 * job's plan, slot and daily cap, and nothing of it kept anywhere.
 */
let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({
    processing: true,
    env: { [envVars.quotas]: JSON.stringify({ concurrentJobs: 2, dailyChatFree: 6 }) },
  });
});
afterAll(() => t.stop());
beforeEach(() => t.standIn!.setFaults({}));

const question = { message: 'Is a ferritin of 12 low for someone who runs marathons every month?' };

/** The route as the streaming function serves it (its AWS calls are that function's). */
const stream = (token: string, body: unknown = question, headers: Record<string, string> = {}) =>
  asFunction('chat', () =>
    t.app.request('/api/v1/chat/stream', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
  );

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('POST /chat/stream', () => {
  it('streams the answer in deltas, then one done event with the usage and a disclaimer', async () => {
    const user = await t.onboard();
    const res = await stream(user.accessToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(res.body!);
    const deltas = events.filter((e) => e.event === 'delta');
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((d) => d.data.text).join('')).toContain(question.message);
    expect(events.at(-1)).toMatchObject({
      event: 'done',
      data: { disclaimer: expect.stringContaining('not medical advice') },
    });
    expect(events.at(-1)!.data.usage.outputTokens).toBeGreaterThan(0);
    expect(events.filter((e) => e.event !== 'delta')).toHaveLength(1);
    // The plain request went to ConverseStream, with the message as the user's turn and no tool.
    const call = t.standIn!.calls.at(-1)!;
    expect(call.streamed).toMatchObject({ cancelled: false });
    expect(JSON.parse(call.body).toolConfig).toBeUndefined();
  });

  it('sends the first delta before the model has finished the answer', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ deltaDelayMs: 40 });
    const res = await stream(user.accessToken);
    let finishedAtFirstDelta: boolean | undefined;
    const events = await readEvents(res.body!, {
      onEvent: (e) => {
        if (e.event === 'delta' && finishedAtFirstDelta === undefined)
          finishedAtFirstDelta = t.standIn!.calls.at(-1)!.streamed !== undefined;
      },
    });
    expect(finishedAtFirstDelta).toBe(false);
    const deltas = events.filter((e) => e.event === 'delta');
    // Pieces arrive spread over the answer's time, not all at its end.
    expect(deltas.at(-1)!.at - deltas[0]!.at).toBeGreaterThan(40 * (deltas.length - 2));
  });

  it('ends with an error event in the API error body when the model is throttled mid-answer', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ throttleAfterDeltas: 2 });
    const res = await stream(user.accessToken);
    expect(res.status).toBe(200);
    const events = await readEvents(res.body!);
    expect(events.map((e) => e.event)).toEqual(['delta', 'delta', 'error']);
    expect(events[2]!.data).toEqual({
      error: { code: 'MODEL_BUSY', message: expect.any(String), retryable: true, requestId: expect.any(String) },
    });
  });

  it('ends with an error event when the model’s stream is malformed', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ malformed: true });
    const events = await readEvents((await stream(user.accessToken)).body!);
    expect(events.at(-1)).toMatchObject({
      event: 'error',
      data: { error: { code: 'PROCESSING_FAILED', retryable: true } },
    });
  });

  it('refuses Idempotency-Key, saying why, and validates the body like /chat/messages', async () => {
    const user = await t.onboard();
    const keyed = await stream(user.accessToken, question, { 'idempotency-key': crypto.randomUUID() });
    expect(keyed.status).toBe(400);
    expect(((await keyed.json()) as any).error.message).toMatch(/Idempotency-Key is not accepted/);
    const invalid = await stream(user.accessToken, { message: '' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as any).error.code).toBe('VALIDATION_ERROR');
    const anonymous = await t.app.request('/api/v1/chat/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(question),
    });
    expect(anonymous.status).toBe(401);
  });

  it('counts against the daily chat cap like a chat job, shared with /chat/messages', async () => {
    const user = await t.onboard();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await stream(user.accessToken);
      statuses.push(res.status);
      await readEvents(res.body!);
      const job = await t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body: question });
      statuses.push(job.status);
      await t.uploads!.settled();
    }
    expect(statuses).toEqual([200, 202, 200, 202, 200, 202]);
    const over = await stream(user.accessToken);
    expect(over.status).toBe(429);
    expect(((await over.json()) as any).error.code).toBe('QUOTA_EXCEEDED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('holds a concurrency slot while it streams, shared with jobs, and frees it when it ends', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ deltaDelayMs: 30 });
    const first = await stream(user.accessToken);
    const second = await stream(user.accessToken);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await stream(user.accessToken);
    expect(third.status).toBe(429);
    expect(((await third.json()) as any).error.message).toMatch(/in progress/);
    const job = await t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body: question });
    expect(job.status).toBe(429);
    await Promise.all([readEvents(first.body!), readEvents(second.body!)]);
    t.standIn!.setFaults({});
    const after = await stream(user.accessToken);
    expect(after.status).toBe(200);
    await readEvents(after.body!);
  });

  it('lets no more streams through than the limit when they race', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ deltaDelayMs: 30 });
    const raced = await Promise.all(Array.from({ length: 6 }, () => stream(user.accessToken)));
    const statuses = raced.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(2);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 429 || s === 409)).toBe(true);
    await Promise.all(raced.map((r) => (r.status === 200 ? readEvents(r.body!) : r.text())));
  });

  it('stops the model call when the client goes: no tokens after it, and its slot is free again', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ deltaDelayMs: 40 });
    const calls = t.standIn!.calls.length;
    const res = await stream(user.accessToken, {
      message: `${question.message} ${'Please explain in detail. '.repeat(10)}`,
    });
    await readEvents(res.body!, { stopAfter: 2 });
    await settle(300);
    const call = t.standIn!.calls[calls]!;
    expect(call.streamed).toMatchObject({ cancelled: true });
    expect(call.streamed!.sent).toBeLessThan(call.streamed!.deltas / 2);
    const sent = call.streamed!.sent;
    await settle(200);
    expect(call.streamed!.sent).toBe(sent);
    expect(t.standIn!.load.inFlight).toBe(0);
    // Both slots are free: the gone stream's was released.
    t.standIn!.setFaults({});
    const again = await Promise.all([stream(user.accessToken), stream(user.accessToken)]);
    expect(again.map((r) => r.status)).toEqual([200, 200]);
    await Promise.all(again.map((r) => readEvents(r.body!)));
  });
});

describe('privacy of streamed answers', () => {
  it('keeps the message and the answer out of every log line, metric, table item and bucket', async () => {
    const canary = `PHI-CANARY-${crypto.randomUUID()}`;
    const p = await createTestRuntime({ processing: true, logLevel: 'DEBUG' });
    try {
      let user: Awaited<ReturnType<typeof p.onboard>> | undefined;
      // Onboarding's own request line is captured too: a passing run prints nothing.
      await captureOutput(async () => {
        user = await p.onboard();
      });
      let text = '';
      const output = await captureOutput(async () => {
        const res = await asFunction('chat', () =>
          p.app.request('/api/v1/chat/stream', {
            method: 'POST',
            headers: { authorization: `Bearer ${user!.accessToken}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              message: `My diagnosis is ${canary}`,
              history: [{ role: 'user', content: canary }],
            }),
          }),
        );
        const events = await readEvents(res.body!);
        text = events
          .filter((e) => e.event === 'delta')
          .map((e) => e.data.text)
          .join('');
      });
      // The answer really carried it, so its absence below means something.
      expect(text).toContain(canary);
      expect(output).toContain('chat stream finished');
      expect(output).toContain('EstimatedCostUSD');
      expect(output).not.toContain(canary);
      expect(JSON.stringify(await p.rawItems())).not.toContain(canary);
      expect((await p.rawItems()).some((i) => String(i.SK).startsWith('JOB#'))).toBe(false);
      for (const Bucket of [p.config.tempBucket, p.config.auditBucket]) {
        const listed = await p.clients.s3.send(new ListObjectsV2Command({ Bucket }));
        expect(listed.Contents ?? []).toEqual([]);
      }
    } finally {
      await p.stop();
    }
  });
});
