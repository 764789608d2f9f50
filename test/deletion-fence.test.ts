import { beforeAll, describe, expect, it } from 'vitest';
import type { SubscriptionEvent } from '../handlers/subscriptions/subscription-event';
import { createTestPlatform, type TestPlatform } from './support/test-platform';

/**
 * The deletion fence holds for store notifications too: once an account's deletion has begun, a
 * notification writes nothing under the user (no marker, no subscription change) that could be
 * written after the deletion listed the user's items, and so outlive it.
 */
let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform();
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
  const cases: Array<[string, (token: string) => SubscriptionEvent, ((token: string) => SubscriptionEvent) | undefined]> = [
    ['that would change the subscription', (token) => event(token), undefined],
    ['that changes nothing (informational)', (token) => event(token, { state: undefined, kind: 'TEST' }), undefined],
    // Older than the state the account already has: refused, and only its marker would be kept.
    ['that is older than the current state', (token) => event(token, { eventTime: Date.now() - 60_000 }), (token) => event(token)],
  ];
  it.each(cases)('%s leaves no marker and changes nothing', async (_, late, earlier) => {
    const user = await t.onboard();
    const token = user.body.user.storeAccountToken as string;
    if (earlier) expect(await t.platform.subscriptionStore.apply(earlier(token))).toBe('applied');
    const before = await markersOf(user.userId);
    const profileBefore = (await t.rawItems()).find((i) => i.PK === `USER#${user.userId}` && i.SK === 'PROFILE')!;

    await t.platform.users.beginDeletion(user.userId);
    expect(await t.platform.subscriptionStore.apply(late(token))).toBe('unknown_user');

    expect(await markersOf(user.userId)).toEqual(before);
    const profileAfter = (await t.rawItems()).find((i) => i.PK === `USER#${user.userId}` && i.SK === 'PROFILE')!;
    expect(profileAfter.current_subscription).toEqual(profileBefore.current_subscription);
  });
});
