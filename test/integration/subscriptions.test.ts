import { createHash, X509Certificate } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemKeys } from '../../contract';
import { appleRootCaG3 } from '../../handlers/domain/subscriptions/apple-root-ca-g3';
import { verifyAppleJws } from '../../handlers/domain/subscriptions/apple-jws';
import { readAppStoreNotification } from '../../handlers/domain/subscriptions/app-store-notifications';
import { createAwsDeps } from '../../handlers/edge/aws-deps';
import { parseLambdaConfig } from '../../handlers/core/config';
import { createLogger } from '../../handlers/core/logger';
import { deployedAppEnv, deployedKeyEnv } from '../../local/fixtures/deployed-env';
import { localStores } from '../../local/offline-config';
import type { PlayDeveloperStandIn } from '../../local/stand-ins/play-developer-stand-in';
import { appleLikeChain, appStoreNotification, signAppleJws } from '../../local/stand-ins/app-store-chain';
import { apiUrl, createTestRuntime, type TestRuntime } from '../support/test-runtime';

type Chain = Awaited<ReturnType<typeof appleLikeChain>>;
type User = Awaited<ReturnType<TestRuntime['onboard']>>;

let t: TestRuntime;
let chain: Chain;
let play: PlayDeveloperStandIn;

beforeAll(async () => {
  t = await createTestRuntime({ stores: true });
  ({ chain, play } = t.stores!);
});
afterAll(() => t.stop());

const day = 86_400_000;
const webhook = (body: unknown, headers: Record<string, string> = {}) =>
  t.request('POST', '/api/v1/subscriptions/webhook', { body, headers });
const subscriptionOf = (user: User) => t.request('GET', '/api/v1/subscriptions', { token: user.accessToken });
/** What the app sets as the purchase's appAccountToken / obfuscatedExternalAccountId. */
const accountTokenOf = (user: User) => user.body.user.storeAccountToken as string;
const profileItem = async (user: User) =>
  JSON.stringify((await t.rawItems()).find((i) => i.PK === `USER#${user.userId}` && i.SK === 'PROFILE'));

/** An App Store Server Notification v2 for `user`, signed by `signer` (the pinned test chain unless told otherwise). */
function appleNotification(
  user: User,
  options: {
    type?: string;
    subtype?: string;
    signedDate?: number;
    expires?: number;
    uuid?: string;
    bundleId?: string;
    environment?: string;
    signer?: Chain;
    originalTransactionId?: string;
  } = {},
) {
  const { signer = chain, bundleId = localStores.bundleId, environment = 'Sandbox', ...rest } = options;
  return appStoreNotification(signer, { accountToken: accountTokenOf(user), bundleId, environment, ...rest });
}

describe('the pinned Apple root', () => {
  it('is the only root a deployed stack trusts (the offline App Store is npm start’s alone)', () => {
    const { app, keys } = parseLambdaConfig({ ...deployedAppEnv, ...deployedKeyEnv });
    const deps = createAwsDeps(app, keys, createLogger('eu', 'SILENT'));
    expect(deps.subscriptions.appStoreRoots.map((r) => r.fingerprint256)).toEqual([
      new X509Certificate(Buffer.from(appleRootCaG3, 'base64')).fingerprint256,
    ]);
  });

  it('is Apple Root CA - G3, by its published SHA-256 fingerprint', () => {
    const root = new X509Certificate(Buffer.from(appleRootCaG3, 'base64'));
    expect(root.subject).toContain('CN=Apple Root CA - G3');
    expect(root.fingerprint256).toBe(
      '63:34:3A:BF:B8:9A:6A:03:EB:B5:7E:9B:3F:5F:A7:BE:7C:4F:5C:75:6F:30:17:B3:A8:C4:88:C3:65:3E:91:79',
    );
  });
});

describe('App Store Server Notifications v2', () => {
  it('a purchase makes the user premium, and the doctor report opens to them', async () => {
    const user = await t.onboard();
    const before = await t.request('POST', '/api/v1/process/doctor-report', {
      token: user.accessToken,
      body: { healthData: { labResults: [], vitals: [] } },
    });
    expect(before.status).toBe(403);
    const res = await webhook(appleNotification(user));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ outcome: 'applied' });
    expect((await subscriptionOf(user)).body).toMatchObject({
      type: 'premium',
      status: 'active',
      provider: 'apple',
      expiresAt: expect.any(String),
    });
    const after = await t.request('POST', '/api/v1/process/doctor-report', {
      token: user.accessToken,
      body: { healthData: { labResults: [], vitals: [] } },
    });
    expect(after.status).toBe(202);
    // The purchase is kept by a hash of its original transaction id, never the id itself.
    const items = await t.rawItems();
    expect(JSON.stringify(items)).not.toContain(`original-${accountTokenOf(user)}`);
    const reference = createHash('sha256')
      .update(`original-${accountTokenOf(user)}`)
      .digest('hex');
    const purchase = itemKeys.purchase(user.userId, reference);
    const stored = items.find((i) => i.PK === purchase.PK && i.SK === purchase.SK);
    expect(stored).toMatchObject({ status: 'active', provider: 'apple' });
  });

  it('a renewal moves the expiry on', async () => {
    const user = await t.onboard();
    const first = Date.now() - 2 * day;
    await webhook(appleNotification(user, { signedDate: first, expires: first + 3 * day }));
    await webhook(appleNotification(user, { type: 'DID_RENEW', expires: Date.now() + 30 * day }));
    const sub = (await subscriptionOf(user)).body;
    expect(sub.status).toBe('active');
    expect(Date.parse(sub.expiresAt)).toBeGreaterThan(Date.now() + 29 * day);
  });

  it.each([
    ['expiry', 'EXPIRED', undefined],
    ['a refund', 'REFUND', undefined],
    ['a revocation', 'REVOKE', undefined],
  ])('%s ends premium', async (_, type, subtype) => {
    const user = await t.onboard();
    await webhook(appleNotification(user, { signedDate: Date.now() - 1000 }));
    await webhook(appleNotification(user, { type, subtype }));
    expect((await subscriptionOf(user)).body).toMatchObject({ type: 'premium', status: 'expired' });
    const report = await t.request('POST', '/api/v1/process/doctor-report', {
      token: user.accessToken,
      body: { healthData: { labResults: [], vitals: [] } },
    });
    expect(report.status).toBe(403);
  });

  it('turning auto-renew off keeps premium until the period ends', async () => {
    const user = await t.onboard();
    await webhook(appleNotification(user, { signedDate: Date.now() - 1000 }));
    await webhook(appleNotification(user, { type: 'DID_CHANGE_RENEWAL_STATUS', subtype: 'AUTO_RENEW_DISABLED' }));
    expect((await subscriptionOf(user)).body.status).toBe('cancelled');
    expect(
      (
        await t.request('POST', '/api/v1/process/doctor-report', {
          token: user.accessToken,
          body: { healthData: { labResults: [], vitals: [] } },
        })
      ).status,
    ).toBe(202);
  });

  it('a subscription past its expiry reads as expired, without any notification', async () => {
    const user = await t.onboard();
    await webhook(appleNotification(user, { signedDate: Date.now() - 2 * day, expires: Date.now() - day }));
    expect((await subscriptionOf(user)).body.status).toBe('expired');
  });

  it('a replay is a 200 duplicate that changes nothing', async () => {
    const user = await t.onboard();
    const notification = appleNotification(user);
    expect((await webhook(notification)).body.outcome).toBe('applied');
    const state = await profileItem(user);
    expect((await webhook(notification)).body).toEqual({ outcome: 'duplicate' });
    expect(await profileItem(user)).toBe(state);
  });

  it('a refund of another purchase naming the user ends that purchase alone (see purchases.test.ts)', async () => {
    const user = await t.onboard();
    await webhook(appleNotification(user, { signedDate: Date.now() - 60_000 }));
    const refund = appleNotification(user, { type: 'REFUND', originalTransactionId: 'someone-elses-purchase' });
    expect((await webhook(refund)).body).toEqual({ outcome: 'applied' });
    expect((await subscriptionOf(user)).body.status).toBe('active');
    expect((await webhook(appleNotification(user, { type: 'REFUND' }))).body).toEqual({ outcome: 'applied' });
    expect((await subscriptionOf(user)).body.status).toBe('expired');
  });

  it('names users by a random store account token, never their id, and forgets it with the account', async () => {
    const user = await t.onboard();
    expect(accountTokenOf(user)).toMatch(/^[0-9a-f-]{36}$/);
    expect(accountTokenOf(user)).not.toBe(user.userId);
    const byUserId = appStoreNotification(chain, {
      accountToken: user.userId,
      bundleId: localStores.bundleId,
      environment: 'Sandbox',
    });
    expect((await webhook(byUserId)).body).toEqual({ outcome: 'unknown_user' });
    await t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken });
    expect((await t.rawItems()).some((i) => String(i.PK) === `STORE_ACCOUNT#${accountTokenOf(user)}`)).toBe(false);
    expect((await webhook(appleNotification(user))).body).toEqual({ outcome: 'unknown_user' });
  });

  it('an older notification arriving late never overwrites newer state', async () => {
    const user = await t.onboard();
    const older = appleNotification(user, { type: 'SUBSCRIBED', signedDate: Date.now() - 60_000 });
    await webhook(appleNotification(user, { type: 'EXPIRED', signedDate: Date.now() }));
    const state = await profileItem(user);
    expect((await webhook(older)).body).toEqual({ outcome: 'stale' });
    expect(await profileItem(user)).toBe(state);
    expect((await subscriptionOf(user)).body.status).toBe('expired');
    expect((await webhook(older)).body).toEqual({ outcome: 'duplicate' });
  });

  it('a TEST notification for this app is accepted and changes nothing', async () => {
    const before = JSON.stringify(await t.rawItems());
    const test = {
      notificationType: 'TEST',
      notificationUUID: crypto.randomUUID(),
      signedDate: Date.now(),
      data: { bundleId: localStores.bundleId, environment: 'Sandbox' },
    };
    const res = await webhook({ signedPayload: signAppleJws(chain, test) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ outcome: 'unknown_user' });
    expect(JSON.stringify(await t.rawItems())).toBe(before);
  });

  it('trusts the pinned root, not the chain’s own third certificate, as Apple’s verifier does', async () => {
    const user = await t.onboard();
    const decoy = await appleLikeChain();
    // Apple sends leaf, intermediate and root; what counts is that a pinned root issued the intermediate.
    expect(
      (
        await webhook(
          appleNotification(user, { signer: { ...chain, x5c: [chain.x5c[0]!, chain.x5c[1]!, decoy.x5c[2]!] } }),
        )
      ).body.outcome,
    ).toBe('applied');
  });

  it('refuses a chain that was valid when it signed but is not valid now (no online revocation check)', () => {
    const payload = signAppleJws(chain, { signedDate: Date.now() });
    const inTenYears = new Date(Date.now() + 3650 * day);
    expect(() => verifyAppleJws(payload, [chain.root], { now: inTenYears })).toThrow('a certificate is not valid now');
    expect(verifyAppleJws(payload, [chain.root], { now: new Date() })).toMatchObject({
      signedDate: expect.any(Number),
    });
  });

  describe('a forgery gets 401 and changes nothing', () => {
    const forgeries: Array<[string, (user: User) => Promise<{ signedPayload: string }>, string]> = [
      [
        'chained to an unpinned root',
        async (user) => appleNotification(user, { signer: await appleLikeChain() }),
        'intermediate not issued by a pinned root',
      ],
      [
        'a leaf key that is not EC P-256',
        async (user) =>
          appleNotification(user, { signer: await appleLikeChain({ root: chain.rootMaterial, leafCurve: 'P-384' }) }),
        'leaf key is not EC P-256',
      ],
      [
        'signed more than a week ago',
        async (user) => appleNotification(user, { signedDate: Date.now() - 8 * day }),
        'signedDate is too old',
      ],
      [
        'signed in the future',
        async (user) => appleNotification(user, { signedDate: Date.now() + day }),
        'signedDate is in the future',
      ],
      [
        'a TEST notification for another app',
        async () => ({
          signedPayload: signAppleJws(chain, {
            notificationType: 'TEST',
            notificationUUID: crypto.randomUUID(),
            signedDate: Date.now(),
            data: { bundleId: 'com.example.other', environment: 'Sandbox' },
          }),
        }),
        'bundleId is not this app',
      ],
      [
        'a leaf without the App Store marker OID',
        async (user) =>
          appleNotification(user, { signer: await appleLikeChain({ root: chain.rootMaterial, leafMarker: false }) }),
        'leaf lacks the App Store marker extension',
      ],
      [
        'an intermediate without the WWDR marker OID',
        async (user) =>
          appleNotification(user, {
            signer: await appleLikeChain({ root: chain.rootMaterial, intermediateMarker: false }),
          }),
        'intermediate lacks the Apple WWDR marker extension',
      ],
      [
        'a leaf expired before signedDate',
        async (user) =>
          appleNotification(user, { signer: await appleLikeChain({ root: chain.rootMaterial, leafExpired: true }) }),
        'a certificate was not valid at signedDate',
      ],
      [
        'a bad signature',
        async (user) => {
          const { signedPayload } = appleNotification(user);
          const [h, p, s] = signedPayload.split('.');
          const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
          payload.notificationType = 'SUBSCRIBED';
          payload.signedDate += 1;
          return { signedPayload: `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}` };
        },
        'signature does not verify',
      ],
      [
        'another app’s bundle id',
        async (user) => appleNotification(user, { bundleId: 'com.example.other' }),
        'bundleId is not this app',
      ],
      [
        'the wrong environment',
        async (user) => appleNotification(user, { environment: 'Production' }),
        'environment is not this one',
      ],
      ['garbage', async () => ({ signedPayload: 'not.a.jws' }), 'not JSON'],
      [
        'an x5c chain that ends in a copy of the pinned root',
        async (user) => {
          const other = await appleLikeChain();
          return appleNotification(user, { signer: { ...other, x5c: [other.x5c[0]!, other.x5c[1]!, chain.x5c[2]!] } });
        },
        'intermediate not issued by a pinned root',
      ],
    ];
    it.each(forgeries)('%s', async (_, forge, reason) => {
      const user = await t.onboard();
      const state = await profileItem(user);
      const forged = await forge(user);
      // Refused for the reason the case is about, not another one.
      expect(() =>
        readAppStoreNotification(forged.signedPayload, [chain.root], {
          bundleId: localStores.bundleId,
          environment: 'Sandbox',
        }),
      ).toThrow(reason);
      const res = await webhook(forged);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('WEBHOOK_UNVERIFIED');
      expect(await profileItem(user)).toBe(state);
      expect((await subscriptionOf(user)).body).toEqual({ type: 'free', status: 'active' });
    });
  });

  it('a verified notification without its transaction is a 400 and changes nothing', async () => {
    const user = await t.onboard();
    const state = await profileItem(user);
    const res = await webhook({
      signedPayload: signAppleJws(chain, {
        notificationType: 'SUBSCRIBED',
        notificationUUID: crypto.randomUUID(),
        signedDate: Date.now(),
        data: { bundleId: localStores.bundleId, environment: 'Sandbox' },
      }),
    });
    expect(res.status).toBe(400);
    expect(await profileItem(user)).toBe(state);
  });
});

describe('the x5c chain’s length, as Apple’s SignedDataVerifier checks it', () => {
  const verified = (x5c: string[]) =>
    verifyAppleJws(signAppleJws({ ...chain, x5c }, { signedDate: Date.now() }), [chain.root], { now: new Date() });

  it.each([
    ['two certificates (leaf and intermediate)', () => [chain.x5c[0]!, chain.x5c[1]!]],
    ['four certificates', () => [...chain.x5c, chain.x5c[2]!]],
    ['one certificate', () => [chain.x5c[0]!]],
  ])('refuses %s, as Apple’s verifier does (INVALID_CHAIN_LENGTH)', async (_, x5c) => {
    expect(() => verified(x5c())).toThrow('x5c is not three certificates');
  });

  it('refuses a notification whose chain is leaf and intermediate alone: 401, and nothing changes', async () => {
    const user = await t.onboard();
    const state = await profileItem(user);
    const res = await webhook(appleNotification(user, { signer: { ...chain, x5c: [chain.x5c[0]!, chain.x5c[1]!] } }));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('WEBHOOK_UNVERIFIED');
    expect(await profileItem(user)).toBe(state);
    expect((await subscriptionOf(user)).body).toEqual({ type: 'free', status: 'active' });
  });

  it('neither parses nor trusts the third certificate, as Apple’s verifier does', () => {
    const [leaf, intermediate] = chain.x5c as [string, string];
    expect(verified([leaf, intermediate, 'not a certificate'])).toMatchObject({ signedDate: expect.any(Number) });
  });
});

describe('Google Play real-time developer notifications', () => {
  const audience = `${apiUrl}/api/v1/subscriptions/webhook`;
  const push = (
    user: User,
    options: { token?: string; packageName?: string; eventTime?: number; messageId?: string; state?: string } = {},
  ) => {
    const purchaseToken = options.token ?? `purchase-${crypto.randomUUID()}`;
    play.purchases.set(purchaseToken, {
      subscriptionState: options.state ?? 'SUBSCRIPTION_STATE_ACTIVE',
      lineItems: [{ productId: 'premium_monthly', expiryTime: new Date(Date.now() + 30 * day).toISOString() }],
      externalAccountIdentifiers: { obfuscatedExternalAccountId: accountTokenOf(user) },
    });
    const data = {
      version: '1.0',
      packageName: options.packageName ?? localStores.packageName,
      eventTimeMillis: String(options.eventTime ?? Date.now()),
      subscriptionNotification: {
        version: '1.0',
        notificationType: 4,
        purchaseToken,
        subscriptionId: 'premium_monthly',
      },
    };
    return {
      message: {
        data: Buffer.from(JSON.stringify(data)).toString('base64'),
        messageId: options.messageId ?? crypto.randomUUID(),
        message_id: 'snake-case copy',
      },
      subscription: 'projects/serenya/subscriptions/rtdn',
    };
  };
  const bearer = async (claims: Partial<Parameters<TestRuntime['identityProvider']['mintPushToken']>[0]> = {}) => ({
    authorization: `Bearer ${await t.identityProvider.mintPushToken({ audience, email: localStores.pushServiceAccount, ...claims })}`,
  });

  it('a verified push upgrades the purchase’s user, read from the Play Developer API', async () => {
    const user = await t.onboard();
    const res = await webhook(push(user), await bearer());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ outcome: 'applied' });
    expect((await subscriptionOf(user)).body).toMatchObject({ type: 'premium', status: 'active', provider: 'google' });
  });

  it('a replayed message is a duplicate', async () => {
    const user = await t.onboard();
    const message = push(user);
    await webhook(message, await bearer());
    expect((await webhook(message, await bearer())).body).toEqual({ outcome: 'duplicate' });
  });

  it('an older event never overwrites newer state', async () => {
    const user = await t.onboard();
    const token = `purchase-${crypto.randomUUID()}`;
    await webhook(push(user, { token, state: 'SUBSCRIPTION_STATE_EXPIRED' }), await bearer());
    expect((await webhook(push(user, { token, eventTime: Date.now() - 60_000 }), await bearer())).body).toEqual({
      outcome: 'stale',
    });
    expect((await subscriptionOf(user)).body.status).toBe('expired');
  });

  describe('a forged push gets 401 and changes nothing', () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forgeries: Array<[string, () => Promise<Record<string, string>>, { packageName?: string }?]> = [
      ['a wrong audience', () => bearer({ audience: 'https://elsewhere.example.com/webhook' })],
      ['another service account', () => bearer({ email: 'someone@evil.iam.gserviceaccount.com' })],
      ['an unverified email', () => bearer({ emailVerified: false })],
      ['a wrong issuer', () => bearer({ issuer: 'https://accounts.evil.example.com' })],
      ['an expired token', () => bearer({ expiresIn: '-1m' })],
      [
        'a token signed by another key',
        async () => ({
          authorization: `Bearer ${await new SignJWT({ email: localStores.pushServiceAccount, email_verified: true })
            .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
            .setIssuer('https://accounts.google.com')
            .setAudience(audience)
            .setIssuedAt()
            .setExpirationTime('1h')
            .sign(otherKey)}`,
        }),
      ],
      ['no token at all', async () => ({})],
      ['another app’s package', () => bearer(), { packageName: 'com.example.other' }],
    ];
    it.each(forgeries)('%s', async (_, headers, options = {}) => {
      const user = await t.onboard();
      const state = await profileItem(user);
      const res = await webhook(push(user, options), await headers());
      expect(res.status).toBe(401);
      expect(await profileItem(user)).toBe(state);
    });
  });

  it('a verified push for a purchase Play does not know is a 200 with its outcome, so Pub/Sub does not redeliver it for days', async () => {
    const user = await t.onboard();
    const message = push(user);
    const token = JSON.parse(Buffer.from(message.message.data, 'base64').toString()).subscriptionNotification
      .purchaseToken;
    play.purchases.delete(token);
    const before = JSON.stringify(await t.rawItems());
    const res = await webhook(message, await bearer());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ outcome: 'unknown_purchase' });
    expect(JSON.stringify(await t.rawItems())).toBe(before);
  });

  it('a verified push whose data is not JSON is a 400', async () => {
    const res = await webhook(
      { message: { data: Buffer.from('nope').toString('base64'), messageId: 'm-1' } },
      await bearer(),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_NOTIFICATION');
  });
});

describe('the webhook envelope', () => {
  it('is a 400 when it is neither store’s', async () => {
    expect((await webhook({ hello: 'world' })).status).toBe(400);
  });
});
