import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { scheduledEvent } from '../../local/stand-ins/scheduled-sweeps';
import type { SubscriptionEvent } from '../../handlers/domain/subscriptions/subscription-event';
import { createTestRuntime, device, type TestRuntime } from '../support/test-runtime';

/**
 * An account deletion always finishes, and the deletion fence holds for store notifications too: once an account's deletion has begun, a
 * notification writes nothing under the user (no marker, no subscription change) that could be
 * written after the deletion listed the user's items, and so outlive it.
 */
let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});

const event = (accountToken: string, over: Partial<SubscriptionEvent> = {}): SubscriptionEvent => ({
  provider: 'apple',
  notificationId: crypto.randomUUID(),
  eventTime: Date.now(),
  accountToken,
  state: { type: 'premium', status: 'active', purchaseReference: `purchase-${crypto.randomUUID()}` },
  kind: 'SUBSCRIBED',
  ...over,
});
const markersOf = async (userId: string) =>
  (await t.rawItems()).filter((i) => i.PK === `USER#${userId}` && String(i.SK).startsWith('NOTIFICATION#'));

describe('a store notification for an account being deleted', () => {
  const cases: Array<
    [string, (token: string) => SubscriptionEvent, ((token: string) => SubscriptionEvent) | undefined]
  > = [
    ['that would change the subscription', (token) => event(token), undefined],
    ['that changes nothing (informational)', (token) => event(token, { state: undefined, kind: 'TEST' }), undefined],
    // Older than the state the account already has: refused, and only its marker would be kept.
    [
      'that is older than the current state',
      (token) => event(token, { eventTime: Date.now() - 60_000 }),
      (token) => event(token),
    ],
  ];
  it.each(cases)('%s leaves no marker and changes nothing', async (_, late, earlier) => {
    const user = await t.onboard();
    const token = user.body.user.storeAccountToken as string;
    if (earlier) expect(await t.services.subscriptionStore.apply(earlier(token))).toBe('applied');
    const before = await markersOf(user.userId);
    const profileBefore = (await t.rawItems()).find((i) => i.PK === `USER#${user.userId}` && i.SK === 'PROFILE')!;

    await t.services.users.beginDeletion(user.userId);
    expect(await t.services.subscriptionStore.apply(late(token))).toBe('unknown_user');

    expect(await markersOf(user.userId)).toEqual(before);
    const profileAfter = (await t.rawItems()).find((i) => i.PK === `USER#${user.userId}` && i.SK === 'PROFILE')!;
    expect(profileAfter.current_subscription).toEqual(profileBefore.current_subscription);
  });
});

/** S3 failing the deletion's DeleteObjects with a 500 InternalError, as S3 sometimes does, while `fn` runs. */
async function withS3Failing<T>(fn: () => Promise<T>): Promise<T> {
  const s3 = await t.deps.s3();
  const name = `fail-delete-${crypto.randomUUID()}`;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === DeleteObjectsCommand.name)
        throw Object.assign(new Error('We encountered an internal error. Please try again.'), {
          name: 'InternalError',
          $fault: 'server',
        });
      return next(args);
    },
    { step: 'initialize', name },
  );
  try {
    return await fn();
  } finally {
    s3.middlewareStack.remove(name);
  }
}

/** EventBridge's scheduled event, through the bundle's one entry, as the schedule rule invokes it. */
const scheduled = () => {
  const event = scheduledEvent(t.config.region, t.clock.now());
  return t.runtime.handler(event, { awsRequestId: crypto.randomUUID() } as Context) as Promise<{
    deletions: { finished: number; failed: number; oldestAgeSeconds: number };
  }>;
};
const itemsOf = async (userId: string) =>
  (await t.rawItems()).filter((i) => i.PK === `USER#${userId}` || i.SK === `USER#${userId}`);
const objectsOf = async (userId: string) =>
  (await t.clients.s3.send(new ListObjectsV2Command({ Bucket: t.config.tempBucket, Prefix: `jobs/${userId}/` })))
    .Contents ?? [];
async function userWithObjects() {
  const user = await t.onboard();
  await t.clients.s3.send(
    new PutObjectCommand({
      Bucket: t.config.tempBucket,
      Key: `jobs/${user.userId}/${crypto.randomUUID()}/input`,
      Body: 'x',
    }),
  );
  return user;
}
/** DELETE /user/profile while S3 fails: the account is closed, its erasure left to finish. */
async function deleteWhileS3Fails(user: Awaited<ReturnType<typeof userWithObjects>>) {
  const res = await withS3Failing(() => t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken }));
  expect(res.status).toBe(202);
  expect((await itemsOf(user.userId)).some((i) => i.SK === 'PROFILE' && i.deleting_at)).toBe(true);
  // Closed for writes already.
  expect(
    (await t.request('PUT', '/api/v1/user/profile', { token: user.accessToken, body: { name: 'Still here?' } })).status,
  ).toBe(401);
}
async function expectErased(user: Awaited<ReturnType<typeof userWithObjects>>) {
  expect(await itemsOf(user.userId)).toEqual([]);
  expect(await objectsOf(user.userId)).toEqual([]);
  // The provider account is free again.
  expect((await t.onboard(user.who)).userId).not.toBe(user.userId);
}

describe('a deletion that fails after the fence', () => {
  it('is finished by the scheduled sweep, which reports the age of any it cannot finish', async () => {
    const user = await userWithObjects();
    await deleteWhileS3Fails(user);
    // Not before a few minutes: the request may still be at it.
    await scheduled();
    expect(await itemsOf(user.userId)).not.toEqual([]);
    t.clock.advance(6 * 60);
    // S3 still failing: the sweep keeps the work and reports its age, for the alarm.
    const failing = await withS3Failing(scheduled);
    expect(failing.deletions.failed).toBeGreaterThanOrEqual(1);
    expect(failing.deletions.oldestAgeSeconds).toBeGreaterThanOrEqual(6 * 60);
    expect((await scheduled()).deletions).toMatchObject({
      finished: expect.any(Number),
      failed: 0,
      oldestAgeSeconds: 0,
    });
    await expectErased(user);
  });

  it('is finished by the next sign-in, which then finds no account', async () => {
    const user = await userWithObjects();
    await deleteWhileS3Fails(user);
    const idToken = await t.identityProvider.mint('google', user.who);
    const signin = await t.request('POST', '/api/v1/auth/oauth-signin', {
      body: { provider: 'google', idToken, device },
    });
    expect(signin.status).toBe(404);
    await expectErased(user);
  });

  it('is finished by onboarding the same provider account again, which then makes a new account', async () => {
    const user = await userWithObjects();
    await deleteWhileS3Fails(user);
    const again = await t.onboard(user.who);
    expect(again.userId).not.toBe(user.userId);
    expect(await itemsOf(user.userId)).toEqual([]);
    expect(await objectsOf(user.userId)).toEqual([]);
  });

  it('does not hold back the Apple sweep when the deletion sweep fails', async () => {
    const deletion = t.runtime.services.deletion;
    const sweep = deletion.sweep;
    const apple = vi.spyOn(t.runtime.services.appleTokens, 'sweep');
    deletion.sweep = () => Promise.reject(new Error('DynamoDB is unavailable'));
    try {
      await expect(scheduled()).rejects.toThrow('DynamoDB is unavailable');
      expect(apple).toHaveBeenCalledTimes(1);
    } finally {
      deletion.sweep = sweep;
      apple.mockRestore();
    }
  });

  it('answers 204 and leaves no work behind when nothing fails', async () => {
    const user = await userWithObjects();
    expect((await t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken })).status).toBe(204);
    expect(await itemsOf(user.userId)).toEqual([]);
  });
});
