import { createHash } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemKeys } from '../../contract';
import { planOf, type PurchaseState } from '../../handlers/domain/subscriptions/purchase-plan';
import { localStores } from '../../local/offline-config';
import type { PlayDeveloperStandIn } from '../../local/stand-ins/play-developer-stand-in';
import { type appleLikeChain, appStoreNotification } from '../../local/stand-ins/app-store-chain';
import { apiUrl, createTestRuntime, type TestRuntime } from '../support/test-runtime';

type User = Awaited<ReturnType<TestRuntime['onboard']>>;

let t: TestRuntime;
let chain: Awaited<ReturnType<typeof appleLikeChain>>;
let play: PlayDeveloperStandIn;

beforeAll(async () => {
  t = await createTestRuntime({ stores: true });
  ({ chain, play } = t.stores!);
});
afterAll(() => t.stop());

const day = 86_400_000;
const minute = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const hash = (reference: string) => createHash('sha256').update(reference).digest('hex');
const webhook = (body: unknown, headers: Record<string, string> = {}) =>
  t.request('POST', '/api/v1/subscriptions/webhook', { body, headers });
const subscriptionOf = async (user: User) =>
  (await t.request('GET', '/api/v1/subscriptions', { token: user.accessToken })).body;
const profileSubscriptionOf = async (user: User) =>
  (await t.request('GET', '/api/v1/user/profile', { token: user.accessToken })).body.subscription;
const doctorReport = (user: User) =>
  t.request('POST', '/api/v1/process/doctor-report', {
    token: user.accessToken,
    body: { healthData: { labResults: [], vitals: [] } },
  });
const purchaseId = (name: string) => `${name}-${crypto.randomUUID()}`;
const applied = { outcome: 'applied' };
/** The plan while an App Store purchase ending at `ms` is the one that lasts longest. */
const activeUntil = (ms: number) => ({ type: 'premium', status: 'active', provider: 'apple', expiresAt: iso(ms) });

/** A notification about one App Store purchase naming `user` (whoever bought it: the token is the binding). */
const apple = (user: User, purchase: string, n: { type?: string; signedDate?: number; expires?: number } = {}) =>
  webhook(
    appStoreNotification(chain, {
      accountToken: user.body.user.storeAccountToken as string,
      bundleId: localStores.bundleId,
      environment: 'Sandbox',
      originalTransactionId: purchase,
      ...n,
    }),
  );

/** A verified Play push about one purchase token naming `user`, in the state Play reports. */
async function google(user: User, purchaseToken: string, state: string, eventTime = Date.now()) {
  play.purchases.set(purchaseToken, {
    subscriptionState: state,
    lineItems: [{ productId: 'premium_monthly', expiryTime: iso(Date.now() + 10 * day) }],
    externalAccountIdentifiers: { obfuscatedExternalAccountId: user.body.user.storeAccountToken as string },
  });
  const data = {
    version: '1.0',
    packageName: localStores.packageName,
    eventTimeMillis: String(eventTime),
    subscriptionNotification: { version: '1.0', notificationType: 4, purchaseToken, subscriptionId: 'premium_monthly' },
  };
  const audience = `${apiUrl}/api/v1/subscriptions/webhook`;
  const token = await t.identityProvider.mintPushToken({ audience, email: localStores.pushServiceAccount });
  const message = { data: Buffer.from(JSON.stringify(data)).toString('base64'), messageId: crypto.randomUUID() };
  return webhook({ message }, { authorization: `Bearer ${token}` });
}

describe('a subscription per purchase: the plan is premium while any purchase is', () => {
  it("a stranger's purchase naming the owner, and its refund, leave the owner's own purchase premium", async () => {
    const owner = await t.onboard();
    const [mine, theirs] = [purchaseId('mine'), purchaseId('theirs')];
    const start = Date.now();
    const subscribed = await apple(owner, mine, { signedDate: start - 3 * minute, expires: start + 30 * day });
    expect(subscribed.body).toEqual(applied);
    const strangers = await apple(owner, theirs, { signedDate: start - 2 * minute, expires: start + 60 * day });
    expect(strangers.body).toEqual(applied);
    // Two active purchases: the plan describes the one that lasts longest.
    expect(await subscriptionOf(owner)).toEqual(activeUntil(start + 60 * day));
    const refund = { type: 'REFUND', signedDate: start - minute, expires: start + 60 * day };
    expect((await apple(owner, theirs, refund)).body).toEqual(applied);
    expect(await subscriptionOf(owner)).toEqual(activeUntil(start + 30 * day));
    expect(await profileSubscriptionOf(owner)).toEqual(activeUntil(start + 30 * day));
    expect((await doctorReport(owner)).status).toBe(202);
    // The owner's own refund is not ignored: it ends their purchase, and with it the plan.
    expect((await apple(owner, mine, { type: 'REFUND', expires: start + 30 * day })).body).toEqual(applied);
    expect(await subscriptionOf(owner)).toMatchObject({ type: 'premium', status: 'expired' });
    expect((await doctorReport(owner)).status).toBe(403);
  });

  it("the owner's refund ends their purchase even while another purchase naming them is active", async () => {
    const owner = await t.onboard();
    const [mine, theirs] = [purchaseId('mine'), purchaseId('theirs')];
    const start = Date.now();
    await apple(owner, mine, { signedDate: start - 3 * minute, expires: start + 60 * day });
    await apple(owner, theirs, { signedDate: start - 2 * minute, expires: start + 30 * day });
    const refund = { type: 'REFUND', signedDate: start - minute, expires: start + 60 * day };
    expect((await apple(owner, mine, refund)).body).toEqual(applied);
    expect(await subscriptionOf(owner)).toEqual(activeUntil(start + 30 * day));
    expect((await apple(owner, theirs, { type: 'EXPIRED', expires: start + 30 * day })).body).toEqual(applied);
    expect(await subscriptionOf(owner)).toMatchObject({ type: 'premium', status: 'expired' });
  });

  it('a Play purchase ending leaves an App Store purchase premium, across stores', async () => {
    const user = await t.onboard();
    const start = Date.now();
    await apple(user, purchaseId('apple'), { signedDate: start - 2 * minute, expires: start + 5 * day });
    const token = purchaseId('purchase');
    expect((await google(user, token, 'SUBSCRIPTION_STATE_ACTIVE', start - minute)).body).toEqual(applied);
    expect(await subscriptionOf(user)).toMatchObject({ type: 'premium', status: 'active', provider: 'google' });
    expect((await google(user, token, 'SUBSCRIPTION_STATE_EXPIRED')).body).toEqual(applied);
    expect(await subscriptionOf(user)).toEqual(activeUntil(start + 5 * day));
  });

  it("keeps the store's order per purchase: a new purchase's older notification still applies", async () => {
    const user = await t.onboard();
    const start = Date.now();
    await apple(user, purchaseId('first'), { type: 'EXPIRED', signedDate: start });
    // Signed before the other purchase's latest notification, but the first word about this purchase.
    const second = await apple(user, purchaseId('second'), { signedDate: start - minute, expires: start + 30 * day });
    expect(second.body).toEqual(applied);
    expect(await subscriptionOf(user)).toMatchObject({ type: 'premium', status: 'active' });
  });

  it("keeps each purchase in its own item in the user's partition, by a hash, gone with the account", async () => {
    const user = await t.onboard();
    const references = [purchaseId('a'), purchaseId('b')];
    for (const reference of references) await apple(user, reference, { signedDate: Date.now() - minute });
    const partition = itemKeys.userPartition(user.userId);
    const all = await t.rawItems();
    const items = all.filter((i) => i.PK === partition && String(i.SK).startsWith(itemKeys.purchasePrefix));
    const keys = references.map((r) => itemKeys.purchase(user.userId, hash(r)).SK);
    expect(items.map((i) => i.SK).sort()).toEqual(keys.sort());
    expect(items.every((i) => i.status === 'active' && i.provider === 'apple')).toBe(true);
    expect(JSON.stringify(all)).not.toContain(references[0]);
    await t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken });
    expect((await t.rawItems()).some((i) => i.PK === partition)).toBe(false);
  });

  it('carries over a subscription stored before purchases had items, as that purchase', async () => {
    const user = await t.onboard();
    const start = Date.now();
    const old = purchaseId('old');
    // The summary as it was written before: the one purchase's state, bound by its hash.
    await t.deps.dynamo.send(
      new UpdateCommand({
        TableName: t.config.usersTable,
        Key: itemKeys.profile(user.userId),
        UpdateExpression: 'SET current_subscription = :s',
        ExpressionAttributeValues: {
          ':s': {
            type: 'premium',
            status: 'active',
            provider: 'apple',
            purchase_reference_hash: hash(old),
            event_time: start - 3 * minute,
            updated_at: iso(start - 3 * minute),
            expires_at: iso(start + 20 * day),
          },
        },
      }),
    );
    const other = purchaseId('other');
    await apple(user, other, { signedDate: start - 2 * minute, expires: start + 10 * day });
    expect((await apple(user, other, { type: 'REFUND', signedDate: start - minute })).body).toEqual(applied);
    expect(await subscriptionOf(user)).toEqual(activeUntil(start + 20 * day));
    const carried = (await t.rawItems()).find((i) => i.SK === itemKeys.purchase(user.userId, hash(old)).SK);
    expect(carried).toMatchObject({ PK: itemKeys.userPartition(user.userId), status: 'active', provider: 'apple' });
    // Its own order still holds, and its own refund ends it.
    const late = await apple(user, old, { type: 'REFUND', signedDate: start - 4 * minute });
    expect(late.body).toEqual({ outcome: 'stale' });
    expect((await apple(user, old, { type: 'REFUND' })).body).toEqual(applied);
    expect(await subscriptionOf(user)).toMatchObject({ type: 'premium', status: 'expired' });
  });

  it("racing notifications of several purchases leave the plan all the purchases' states make", async () => {
    const user = await t.onboard();
    const start = Date.now();
    const purchases = [10, 11, 12, 13].map((days, i) => ({ id: purchaseId(`race-${i}`), expires: start + days * day }));
    const bought = await Promise.all(
      purchases.map((p) => apple(user, p.id, { signedDate: start - 2 * minute, expires: p.expires })),
    );
    expect(bought.map((r) => r.body)).toEqual(purchases.map(() => applied));
    // Every purchase but the one that ends soonest is refunded, all at once.
    const refunded = purchases.slice(1);
    const refunds = await Promise.all(
      refunded.map((p) => apple(user, p.id, { type: 'REFUND', signedDate: start - minute, expires: p.expires })),
    );
    expect(refunds.map((r) => r.body)).toEqual(refunded.map(() => applied));
    expect(await subscriptionOf(user)).toEqual(activeUntil(purchases[0]!.expires));
  });
});

describe('the plan of several purchases (planOf)', () => {
  const at = (days: number) => iso(Date.parse('2030-01-01T00:00:00Z') + days * day);
  const p = (
    status: PurchaseState['status'],
    expires: number | undefined,
    event_time = 1,
    provider: PurchaseState['provider'] = 'apple',
  ): PurchaseState => ({ provider, status, event_time, ...(expires === undefined ? {} : { expires_at: at(expires) }) });

  it('describes the live purchase that lasts longest; one without an expiry lasts longest of all', () => {
    const cancelledLater = planOf([p('active', 10), p('cancelled', 20, 1, 'google')]);
    expect(cancelledLater).toEqual({ type: 'premium', status: 'cancelled', provider: 'google', expires_at: at(20) });
    const endless = planOf([p('active', 10), p('active', undefined, 1, 'google')]);
    expect(endless).toEqual({ type: 'premium', status: 'active', provider: 'google' });
  });

  it('prefers an active purchase to a cancelled one that ends as late, and never an expired one to a live one', () => {
    expect(planOf([p('cancelled', 10), p('active', 10)])).toMatchObject({ status: 'active' });
    expect(planOf([p('expired', 90, 9), p('active', 10)])).toMatchObject({ status: 'active', expires_at: at(10) });
  });

  it('with no live purchase, describes the one reported last; with none, there is no plan', () => {
    const ended = planOf([p('expired', 90, 1), p('expired', 10, 2, 'google')]);
    expect(ended).toEqual({ type: 'premium', status: 'expired', provider: 'google', expires_at: at(10) });
    expect(planOf([])).toBeUndefined();
  });
});
