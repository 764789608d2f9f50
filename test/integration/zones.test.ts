import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { envVars, otherResidencies, residencyGroups, storeNotificationPath } from '../../contract';
import type { App } from '../../handlers/web/app';
import { parseAppConfig } from '../../handlers/core/config';
import { deployedAppEnv } from '../../local/fixtures/deployed-env';
import {
  createStoreAccountToken,
  zoneOfStoreAccountToken,
} from '../../handlers/domain/subscriptions/store-account-token';
import { appleLikeChain, appStoreNotification } from '../../local/stand-ins/app-store-chain';
import { countriesOf } from '../../handlers/domain/zones/residency';
import { localStores } from '../../local/offline-config';
import type { PlayDeveloperStandIn } from '../../local/stand-ins/play-developer-stand-in';
import { withDeployValues } from '../../policy/stack-snapshot';
import { stackFileConfig, stackYamlConfig } from '../../policy/stack-yaml';
import { generateLocalKeys } from '../../local/local-keys';
import { captureOutput, consents, createTestRuntime, device, type TestRuntime } from '../support/test-runtime';
import { startStoreStandIns } from '../support/store-stand-ins';

/**
 * Two zones offline, as production has them: each its own runtime, table and HTTP server on
 * loopback, each in the other's zone directory. The EU zone serves the EEA, the US zone the US and
 * every residency no zone names. A notification handed from one zone to the other travels over
 * real HTTP.
 */

/** A loopback HTTP server whose app is set once the zone that will answer exists. */
async function zoneServer() {
  let handler: (req: Request) => Response | Promise<Response> = () => new Response(null, { status: 503 });
  let requests = 0;
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: (req) => (requests++, handler(req)), hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    serve: (app: App) => (handler = (req) => app.fetch(req)),
    /** The zone is down: API Gateway answers for a failing function. */
    down: () => (handler = () => new Response('{"message": "Internal server error"}', { status: 502 })),
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
type ZoneServer = Awaited<ReturnType<typeof zoneServer>>;

let chain: Awaited<ReturnType<typeof appleLikeChain>>;
let play: PlayDeveloperStandIn;
let servers: { eu: ZoneServer; us: ZoneServer };
let eu: TestRuntime;
let us: TestRuntime;

type Side = { zone: 'eu' | 'us'; server: ZoneServer; residencies: string[] };
const zoneEnv = ({ zone, server: own, residencies }: Side, other: Side) => ({
  [envVars.zone]: zone,
  [envVars.issuer]: own.url,
  [envVars.homeApi]: own.url,
  [envVars.residencies]: residencies.join(','),
  [envVars.zoneDirectory]: JSON.stringify({
    [other.zone]: { issuer: other.server.url, homeApi: other.server.url, residencies: other.residencies },
  }),
  // Each zone's own push subscription on the one topic: its own audience.
  [envVars.playPushAudience]: `${own.url}${storeNotificationPath}`,
});

beforeAll(async () => {
  const stores = await startStoreStandIns();
  ({ chain, play } = stores);
  servers = { eu: await zoneServer(), us: await zoneServer() };
  const common = stores.runtime;
  const euSide: Side = { zone: 'eu', server: servers.eu, residencies: ['EEA'] };
  const usSide: Side = { zone: 'us', server: servers.us, residencies: ['US', '*'] };
  eu = await createTestRuntime({ ...common, env: zoneEnv(euSide, usSide) });
  // Keys of its own, as a zone has: nothing one zone sealed or signed is the other's to open or trust.
  us = await createTestRuntime({ ...common, keys: generateLocalKeys(), env: zoneEnv(usSide, euSide) });
  servers.eu.serve(eu.app);
  servers.us.serve(us.app);
});
afterAll(async () => {
  await Promise.all([servers.eu.close(), servers.us.close(), play.stop(), eu.stop(), us.stop()]);
});

const onboardingBody = async (t: TestRuntime, residency: unknown) => ({
  provider: 'google',
  residency,
  idToken: await t.identityProvider.mint('google', t.identity()),
  consents,
  device,
});
async function onboard(t: TestRuntime, residency: string) {
  const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: await onboardingBody(t, residency) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const { user, tokens } = res.body;
  const token = user.storeAccountToken as string;
  return { userId: user.id as string, accessToken: tokens.accessToken as string, token };
}
type User = Awaited<ReturnType<typeof onboard>>;

/** The same token with another zone's tag: what a tampering app could set as the purchase's account token. */
const retagged = (token: string, tag: number) => `${token.slice(0, 19)}${(0x80 | tag).toString(16)}${token.slice(21)}`;

const notificationItems = async (t: TestRuntime) =>
  (await t.rawItems()).filter((i) => String(i.SK).startsWith('NOTIFICATION#'));
const subscriptionOf = async (t: TestRuntime, user: User) =>
  (await t.request('GET', '/api/v1/subscriptions', { token: user.accessToken })).body;
const onboarding = async (t: TestRuntime, residency: unknown) =>
  t.request('POST', '/api/v1/auth/oauth-onboarding', { body: await onboardingBody(t, residency) });

describe('a user’s zone is their declared residency', () => {
  it('GET /api/v1/zones lists every zone, the residencies it serves and its homeApi', async () => {
    const res = await eu.request('GET', '/api/v1/zones');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      zone: 'eu',
      zones: [
        { zone: 'eu', homeApi: servers.eu.url, countries: [...residencyGroups.EEA].sort(), everyOtherCountry: false },
        { zone: 'us', homeApi: servers.us.url, countries: ['US'], everyOtherCountry: true },
      ],
    });
    const fromUs = (await us.request('GET', '/api/v1/zones')).body.zones;
    expect(fromUs.map((z: { zone: string }) => z.zone)).toEqual(['us', 'eu']);
  });

  it('dev serves everyone', async () => {
    const dev = await createTestRuntime();
    expect((await dev.request('GET', '/api/v1/zones')).body.zones[0]).toEqual({
      zone: 'dev',
      homeApi: dev.config.homeApi,
      countries: [],
      everyOtherCountry: true,
    });
    for (const residency of ['US', 'IE', 'JP']) expect((await onboarding(dev, residency)).status).toBe(201);
  });

  it.each([
    ['a US resident in the EU zone', () => eu, 'US', () => servers.us.url],
    ['a resident of a country no zone names, in the EU zone', () => eu, 'JP', () => servers.us.url],
    ['an EU resident in the US zone (a VPN, a public resolver, roaming)', () => us, 'DE', () => servers.eu.url],
    ['an EEA resident outside the EU in the US zone', () => us, 'NO', () => servers.eu.url],
  ])('%s is answered 421 WRONG_ZONE with the serving zone’s homeApi, writing nothing', async (_, at, where, api) => {
    const t = at();
    const before = JSON.stringify(await t.rawItems());
    const res = await onboarding(t, where);
    expect(res.status).toBe(421);
    expect(res.body).toMatchObject({ error: { code: 'WRONG_ZONE', retryable: false }, homeApi: api() });
    expect(JSON.stringify(await t.rawItems())).toBe(before);
  });

  it('onboards a resident where they belong, and only there', async () => {
    const ada = await onboard(eu, 'IE');
    const bob = await onboard(us, 'US');
    expect(zoneOfStoreAccountToken(ada.token)).toBe('eu');
    expect(zoneOfStoreAccountToken(bob.token)).toBe('us');
    // Sign-in is unchanged: the account's tokens work in its zone only (421 with homeApi elsewhere).
    const abroad = await us.request('GET', '/api/v1/user/profile', { token: ada.accessToken });
    expect(abroad.status).toBe(421);
    expect(abroad.body.homeApi).toBe(servers.eu.url);
  });

  it.each([
    ['missing', undefined],
    ['in lower case', 'ie'],
    ['not a country code', 'Ireland'],
  ])('a residency %s is a 400', async (_, residency) => {
    const res = await onboarding(eu, residency);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
  });
});

describe('a zone’s residencies in its environment', () => {
  it('are required, in the contract’s words, and the zone directory names other zones only', () => {
    const { [envVars.residencies]: _, ...without } = deployedAppEnv;
    expect(() => parseAppConfig(without)).toThrow(`${envVars.residencies} is missing`);
    const withEnv = (change: Record<string, string>) => () => parseAppConfig({ ...deployedAppEnv, ...change });
    expect(withEnv({ [envVars.residencies]: 'EEA,Europe' })).toThrow(envVars.residencies);
    const api = 'https://api.us.serenya.health';
    const us = { issuer: api, homeApi: api, residencies: ['US', '*'] };
    expect(withEnv({ [envVars.zoneDirectory]: JSON.stringify({ us }) })().zoneDirectory.us).toEqual(us);
    expect(withEnv({ [envVars.zoneDirectory]: JSON.stringify({ eu: us }) })).toThrow('must not list this zone (eu)');
    expect(withEnv({ [envVars.zoneDirectory]: JSON.stringify({ mars: us }) })).toThrow(envVars.zoneDirectory);
  });
});

describe('store account tokens carry their zone', () => {
  it('are RFC 9562 UUIDv8s, unguessable, naming the zone that made them', () => {
    const tokens = Array.from({ length: 200 }, () => createStoreAccountToken('eu'));
    expect(new Set(tokens).size).toBe(200);
    for (const token of tokens) {
      expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(zoneOfStoreAccountToken(token)).toBe('eu');
    }
    expect(zoneOfStoreAccountToken(crypto.randomUUID())).toBeUndefined();
    expect(zoneOfStoreAccountToken(retagged(createStoreAccountToken('us'), 0x3f))).toBeUndefined();
  });
});

describe('App Store notifications reach the owner zone through the one URL', () => {
  const app = { bundleId: localStores.bundleId, environment: 'Sandbox' };
  const notify = (user: User | string, signer = chain) =>
    appStoreNotification(signer, { accountToken: typeof user === 'string' ? user : user.token, ...app });
  const deliver = (t: TestRuntime, body: unknown, headers: Record<string, string> = {}) =>
    t.request('POST', storeNotificationPath, { body, headers });

  it.each([
    ['an EU user’s, delivered to the US zone', () => [eu, us] as const, 'IE'],
    ['a US user’s, delivered to the EU zone', () => [us, eu] as const, 'US'],
  ])('%s first, is handed on and applied once, by the owner only', async (_, zonesOf, country) => {
    const [owner, other] = zonesOf();
    const user = await onboard(owner, country);
    const notification = notify(user);
    const otherItems = JSON.stringify(await other.rawItems());

    const first = await deliver(other, notification);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ outcome: 'applied' });
    expect(await subscriptionOf(owner, user)).toMatchObject({ type: 'premium', status: 'active', provider: 'apple' });
    // The other zone kept nothing of it.
    expect(JSON.stringify(await other.rawItems())).toBe(otherItems);

    // Apple's retries, to either zone, and the same notification at its owner: applied once.
    expect((await deliver(other, notification)).body).toEqual({ outcome: 'duplicate' });
    expect((await deliver(owner, notification)).body).toEqual({ outcome: 'duplicate' });
    const markers = (await notificationItems(owner)).filter((i) => i.PK === `USER#${user.userId}`);
    expect(markers).toHaveLength(1);
  });

  it('while the owner zone is down, the store is told to retry, the miss is counted, and the retry is applied', async () => {
    const user = await onboard(eu, 'FR');
    const notification = notify(user);
    servers.eu.down();
    // Metrics on for this test only (test runtimes keep them off: Powertools reads the switch per metric).
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    try {
      const output = await captureOutput(async () => {
        const res = await deliver(us, notification);
        expect(res.status).toBe(503);
        expect(res.body.error).toMatchObject({ code: 'ZONE_UNAVAILABLE', retryable: true });
      });
      // The metric the zone's alarm watches (docs/runbooks.md): its namespace, dimension and name.
      const line = output.split('\n').find((l) => l.includes('"StoreNotificationsNotHandedOn"'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({
        _aws: { CloudWatchMetrics: [{ Namespace: 'Serenya', Dimensions: [['service']] }] },
        service: 'serenya',
        StoreNotificationsNotHandedOn: 1,
      });
      servers.eu.serve(eu.app);
      expect((await subscriptionOf(eu, user)).type).toBe('free');
      const retried = await captureOutput(async () => {
        expect((await deliver(us, notification)).body).toEqual({ outcome: 'applied' });
      });
      expect(retried).not.toContain('StoreNotificationsNotHandedOn');
    } finally {
      servers.eu.serve(eu.app);
      vi.unstubAllEnvs();
    }
    expect((await subscriptionOf(eu, user)).status).toBe('active');
  });

  it.each([
    ['an EU token retagged as US, at the EU zone', () => eu, 3],
    ['an EU token retagged as US, at the US zone', () => us, 3],
    ['an EU token whose tag names no zone', () => us, 0x3f],
  ])('a forged zone tag misroutes nothing: %s', async (_, zone, tag) => {
    const user = await onboard(eu, 'IE');
    const forged = retagged(user.token, tag);
    const [euItems, usItems] = [JSON.stringify(await eu.rawItems()), JSON.stringify(await us.rawItems())];
    const res = await deliver(zone(), notify(forged));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ outcome: 'unknown_user' });
    expect(JSON.stringify(await eu.rawItems())).toBe(euItems);
    expect(JSON.stringify(await us.rawItems())).toBe(usItems);
  });

  it('a notification handed on once is never handed on again', async () => {
    const user = await onboard(eu, 'IE');
    const before = servers.eu.requests();
    const res = await deliver(us, notify(user), { 'serenya-forwarded-from': 'eu' });
    expect(res.status).toBe(421);
    expect(res.body.error.code).toBe('WRONG_ZONE');
    expect(servers.eu.requests()).toBe(before);
    expect((await subscriptionOf(eu, user)).type).toBe('free');
  });

  it('a forgery is refused by the zone that received it, and handed on to no one', async () => {
    const user = await onboard(eu, 'IE');
    const before = servers.eu.requests();
    const res = await deliver(us, notify(user, await appleLikeChain()));
    expect(res.status).toBe(401);
    expect(servers.eu.requests()).toBe(before);
  });
});

describe('Google Play pushes: every zone’s subscription gets each one, the owner applies it', () => {
  const day = 86_400_000;
  const push = (accountToken: string) => {
    const purchaseToken = `purchase-${crypto.randomUUID()}`;
    play.purchases.set(purchaseToken, {
      subscriptionState: 'SUBSCRIPTION_STATE_ACTIVE',
      lineItems: [{ productId: 'premium_monthly', expiryTime: new Date(Date.now() + 30 * day).toISOString() }],
      externalAccountIdentifiers: { obfuscatedExternalAccountId: accountToken },
    });
    const data = {
      version: '1.0',
      packageName: localStores.packageName,
      eventTimeMillis: String(Date.now()),
      subscriptionNotification: { notificationType: 4, purchaseToken, subscriptionId: 'premium_monthly' },
    };
    return { message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), messageId: crypto.randomUUID() } };
  };
  /** Pushed by zone `t`'s own subscription: its token's audience is that zone's own webhook. */
  const pushedBy = async (subscriber: TestRuntime, t: TestRuntime = subscriber) => ({
    authorization: `Bearer ${await t.identityProvider.mintPushToken({
      audience: subscriber.config.googlePlay!.pushAudience,
      email: localStores.pushServiceAccount,
    })}`,
  });
  const deliver = async (t: TestRuntime, body: unknown) =>
    t.request('POST', storeNotificationPath, { body, headers: await pushedBy(t) });

  it.each([
    ['an EU user’s', () => [eu, us] as const, 'IE'],
    ['a US user’s', () => [us, eu] as const, 'US'],
  ])('%s push reaches the other zone first: not_this_zone there, applied once by its owner', async (_, of, country) => {
    const [owner, other] = of();
    const user = await onboard(owner, country);
    const message = push(user.token);
    const otherItems = JSON.stringify(await other.rawItems());
    expect((await deliver(other, message)).body).toEqual({ outcome: 'not_this_zone' });
    expect(JSON.stringify(await other.rawItems())).toBe(otherItems);
    expect((await deliver(owner, message)).body).toEqual({ outcome: 'applied' });
    expect(await subscriptionOf(owner, user)).toMatchObject({ type: 'premium', provider: 'google' });
    // Pub/Sub's redeliveries to both subscriptions.
    expect((await deliver(other, message)).body).toEqual({ outcome: 'not_this_zone' });
    expect((await deliver(owner, message)).body).toEqual({ outcome: 'duplicate' });
  });

  it('a zone takes pushes of its own subscription only (each zone has its own audience)', async () => {
    const user = await onboard(eu, 'IE');
    const res = await eu.request('POST', storeNotificationPath, {
      body: push(user.token),
      headers: await pushedBy(us, eu),
    });
    expect(res.status).toBe(401);
  });

  it('a forged zone tag applies nothing anywhere', async () => {
    const user = await onboard(eu, 'IE');
    const message = push(retagged(user.token, 3));
    const [euItems, usItems] = [JSON.stringify(await eu.rawItems()), JSON.stringify(await us.rawItems())];
    expect((await deliver(eu, message)).body).toEqual({ outcome: 'not_this_zone' });
    expect((await deliver(us, message)).body).toEqual({ outcome: 'unknown_user' });
    expect(JSON.stringify(await eu.rawItems())).toBe(euItems);
    expect(JSON.stringify(await us.rawItems())).toBe(usItems);
  });
});

describe('the production stack files', () => {
  const stacks = { eu: 'prod-eu', us: 'prod-us' } as const;
  const config = (stack: string) =>
    Object.fromEntries(
      Object.entries(stackYamlConfig(stack)).map(([key, value]) => [
        key.replace(/^serenya:/, ''),
        value.startsWith('[') || value.startsWith('{') ? JSON.parse(value) : value,
      ]),
    );

  it('list each other zone with the residencies that zone declares for itself', () => {
    for (const [zone, stack] of Object.entries(stacks)) {
      for (const [other, otherStack] of Object.entries(stacks).filter(([z]) => z !== zone)) {
        const listed = config(stack).zoneDirectory[other].residencies;
        expect(listed, `${stack} on ${other}`).toEqual(config(otherStack).residencies);
      }
    }
  });

  it('give every residency to one zone: no country twice, one zone takes the rest', () => {
    const named = Object.values(stacks).flatMap((stack) => [...countriesOf(config(stack).residencies)]);
    expect(new Set(named).size).toBe(named.length);
    const takingTheRest = Object.values(stacks).filter((stack) => config(stack).residencies.includes(otherResidencies));
    expect(takingTheRest).toEqual(['prod-us']);
  });

  const withSetting = (stack: string, key: string, change: (value: any) => unknown) => () =>
    stackFileConfig(stack, (c) => {
      const filled = withDeployValues(stack, c);
      return { ...filled, [`serenya:${key}`]: JSON.stringify(change(JSON.parse(filled[`serenya:${key}`]!))) };
    });

  it('are refused at preview with the global name as a push audience, or without the residencies a zone serves', () => {
    expect(withSetting('prod-eu', 'subscriptions', (s) => s)).not.toThrow();
    const globalName = `https://api.serenya.health${storeNotificationPath}`;
    const pushingToGlobalName = withSetting('prod-eu', 'subscriptions', (s) => ({
      ...s,
      googlePlay: { ...s.googlePlay, pushAudience: globalName },
    }));
    expect(pushingToGlobalName).toThrow("googlePlay.pushAudience must be this zone's own webhook");
    expect(withSetting('prod-us', 'residencies', () => [])).toThrow('serenya:residencies');
    expect(withSetting('prod-us', 'residencies', () => ['Europe'])).toThrow('a residency group (EEA)');
    const withoutResidencies = withSetting('prod-us', 'zoneDirectory', (d) => ({
      ...d,
      eu: { ...d.eu, residencies: undefined },
    }));
    expect(withoutResidencies).toThrow('serenya:zoneDirectory.eu.residencies');
  });

  it('give each zone its own Play push subscription, pushing to its own name', () => {
    for (const stack of Object.values(stacks)) {
      const { domain, subscriptions } = config(stack);
      expect(subscriptions.googlePlay.pushAudience).toBe(`https://${domain.zoneName}${storeNotificationPath}`);
    }
  });
});
