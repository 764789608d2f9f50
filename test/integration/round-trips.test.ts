import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/**
 * One DynamoDB round trip for each authenticated route that reads a user item: the session check
 * and the route's item come in one strongly consistent batch. Counted at the SDK client — counts
 * are behaviour, not timing. Sign-out and deletion still take effect on the very next request.
 */
let t: TestRuntime;
let commands: string[] = [];
beforeAll(async () => {
  t = await createTestRuntime({ processing: true });
  t.clients.dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize', name: 'countRoundTrips' },
  );
});
afterAll(() => t.stop());

async function roundTrips(path: string, token: string) {
  commands = [];
  const res = await t.request('GET', path, { token });
  return { status: res.status, commands: [...commands] };
}

describe('authenticated requests', () => {
  it('take one DynamoDB round trip each: profile, subscription, job status, result, chat status', async () => {
    const user = await t.onboard();
    const chat = await t.request('POST', '/api/v1/chat/messages', {
      token: user.accessToken,
      body: { message: 'What is a normal ferritin?' },
    });
    const upload = await t.request('POST', '/api/v1/process/upload', {
      token: user.accessToken,
      body: { contentType: 'text/plain', contentLength: 100 },
    });
    await t.uploads!.settled();
    for (const path of [
      '/api/v1/user/profile',
      '/api/v1/subscriptions',
      `/api/v1/process/status/${upload.body.jobId}`,
      `/api/v1/chat/status/${chat.body.jobId}`,
      `/api/v1/process/result/${chat.body.jobId}`,
    ]) {
      const counted = await roundTrips(path, user.accessToken);
      expect(counted.status, path).toBeLessThan(500);
      expect(counted.commands, path).toEqual(['BatchGetItemCommand']);
    }
  });

  it('read the caller’s plan with the session when they create a job: no round trip of its own', async () => {
    const user = await t.onboard();
    commands = [];
    // An upload: its job waits for the file, so no worker's call mixes in (chat and reports take the same path).
    const res = await t.request('POST', '/api/v1/process/upload', {
      token: user.accessToken,
      body: { contentType: 'text/plain', contentLength: 100 },
    });
    expect(res.status).toBe(201);
    // Session and profile, then the concurrent-job slots, then the job with its quotas in one transaction.
    expect(commands).toEqual(['BatchGetItemCommand', 'GetItemCommand', 'TransactWriteItemsCommand']);
  });

  it('still fail on the very next request after sign-out and after deletion', async () => {
    const leaving = await t.onboard();
    await t.request('POST', '/api/v1/auth/signout', { token: leaving.accessToken });
    expect((await roundTrips('/api/v1/user/profile', leaving.accessToken)).status).toBe(401);
    const deleted = await t.onboard();
    await t.request('DELETE', '/api/v1/user/profile', { token: deleted.accessToken });
    expect((await roundTrips('/api/v1/subscriptions', deleted.accessToken)).status).toBe(401);
  });
});
