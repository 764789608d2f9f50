import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduledEvent } from '../../local/stand-ins/scheduled-sweeps';
import { asFunction } from '../support/aws-call-log';
import { consents, createTestRuntime, device, type TestRuntime } from '../support/test-runtime';

/**
 * Deleting an account revokes its Sign in with Apple tokens, as App Review requires: the app sends
 * Apple's authorizationCode with the ID token, the server exchanges it for a refresh token kept
 * sealed, and the users table's stream revokes it at Apple once the account is gone — deletion
 * itself never waits on Apple. Against the offline Apple stand-in.
 */
let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({ appleId: true, stream: true });
});
afterAll(() => t.stop());

/** The stream reaches Apple a moment after the deletion answered (and later under load). */
const revoked = (token: string) =>
  expect.poll(() => t.appleId!.revoked.includes(token), { timeout: 20_000, interval: 100 }).toBe(true);
const live = (sub: string) => t.appleId!.liveTokensOf(sub);
/** The revocation sweep, with the stream function's role. */
// The schedule invokes the API function (its role holds every grant the sweep needs), so the calls are the API's.
const sweep = () => asFunction('api', () => t.runtime.services.appleTokens.sweep());
/** EventBridge's scheduled event, through the bundle's one entry, as the schedule rule invokes it. */
const scheduled = () => {
  const event = scheduledEvent(t.config.region, t.clock.now());
  return t.runtime.handler(event, { awsRequestId: crypto.randomUUID() } as Context) as Promise<{
    appleRevocations: { revoked: number };
  }>;
};
/** Revocations waiting for Apple, as stored. */
const pending = async () => (await t.rawItems()).filter((i) => i.entity === 'apple_revocation');

async function onboardWithApple(who = t.identity()) {
  const idToken = await t.identityProvider.mint('apple', who);
  const authorizationCode = await t.identityProvider.mintAppleAuthorizationCode(who.sub);
  const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
    body: { provider: 'apple', residency: 'IE', idToken, authorizationCode, consents, device },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { who, accessToken: res.body.tokens.accessToken as string, userId: res.body.user.id as string };
}

describe('Sign in with Apple tokens', () => {
  it('are exchanged at onboarding and kept sealed, never in plaintext', async () => {
    const { who, userId } = await onboardWithApple();
    const [refreshToken] = t.appleId!.liveTokensOf(who.sub);
    expect(refreshToken).toBeDefined();
    const profile = (await t.rawItems()).find((i) => i.PK === `USER#${userId}` && i.SK === 'PROFILE')!;
    expect(JSON.stringify(await t.rawItems())).not.toContain(refreshToken!);
    expect(await t.deps.pii.open(userId, 'apple_refresh_token', profile.apple_refresh_token as string)).toBe(
      refreshToken,
    );
  });

  it('are revoked at Apple once the account is deleted — after the deletion answered', async () => {
    const { who, accessToken } = await onboardWithApple();
    const [refreshToken] = t.appleId!.liveTokensOf(who.sub);
    expect((await t.request('DELETE', '/api/v1/user/profile', { token: accessToken })).status).toBe(204);
    await revoked(refreshToken!);
    expect(t.appleId!.liveTokensOf(who.sub)).toEqual([]);
  });

  it('a sign-in with a new code revokes the token it replaces, and deletion revokes the new one', async () => {
    const { who } = await onboardWithApple();
    const [first] = live(who.sub);
    const idToken = await t.identityProvider.mint('apple', who);
    const authorizationCode = await t.identityProvider.mintAppleAuthorizationCode(who.sub);
    const signin = await t.request('POST', '/api/v1/auth/oauth-signin', {
      body: { provider: 'apple', idToken, authorizationCode, device },
    });
    expect(signin.status).toBe(200);
    await revoked(first!);
    const [latest] = live(who.sub);
    expect(latest).not.toBe(first);
    await t.request('DELETE', '/api/v1/user/profile', { token: signin.body.tokens.accessToken });
    await revoked(latest!);
    expect(live(who.sub)).toEqual([]);
  });

  it('onboarding refused as a duplicate (409) revokes the token it redeemed', async () => {
    const { who } = await onboardWithApple();
    const [kept] = live(who.sub);
    const idToken = await t.identityProvider.mint('apple', who);
    const authorizationCode = await t.identityProvider.mintAppleAuthorizationCode(who.sub);
    const again = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: { provider: 'apple', residency: 'IE', idToken, authorizationCode, consents, device },
    });
    expect(again.status).toBe(409);
    await expect.poll(() => live(who.sub), { timeout: 20_000, interval: 100 }).toEqual([kept]);
  });

  it('refuses a code of another Apple account than the ID token’s, and revokes the grant it got for it', async () => {
    const [a, b] = [t.identity(), t.identity()];
    const foreignCode = await t.identityProvider.mintAppleAuthorizationCode(b.sub);
    const onboarding = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: {
        provider: 'apple',
        residency: 'IE',
        idToken: await t.identityProvider.mint('apple', a),
        authorizationCode: foreignCode,
        consents,
        device,
      },
    });
    expect(onboarding.status, JSON.stringify(onboarding.body)).toBe(401);
    expect(onboarding.body.error.code).toBe('INVALID_AUTHORIZATION_CODE');
    expect(t.appleId!.revoked.length).toBeGreaterThan(0);
    await expect.poll(() => live(b.sub), { timeout: 20_000, interval: 100 }).toEqual([]);
    // Nor at sign-in: A's kept token stays A's.
    const { userId } = await onboardWithApple(a);
    const [own] = live(a.sub);
    const signin = await t.request('POST', '/api/v1/auth/oauth-signin', {
      body: {
        provider: 'apple',
        idToken: await t.identityProvider.mint('apple', a),
        authorizationCode: await t.identityProvider.mintAppleAuthorizationCode(b.sub),
        device,
      },
    });
    expect(signin.status).toBe(401);
    const profile = (await t.rawItems()).find((i) => i.PK === `USER#${userId}` && i.SK === 'PROFILE')!;
    expect(await t.deps.pii.open(userId, 'apple_refresh_token', profile.apple_refresh_token as string)).toBe(own);
    await expect.poll(() => live(b.sub), { timeout: 20_000, interval: 100 }).toEqual([]);
  });

  it('refuses a code Apple does not accept, and a code with a Google sign-in', async () => {
    const who = t.identity();
    const idToken = await t.identityProvider.mint('apple', who);
    const bad = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: {
        provider: 'apple',
        residency: 'IE',
        idToken,
        authorizationCode: 'not-a-code-apple-issued',
        consents,
        device,
      },
    });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('INVALID_AUTHORIZATION_CODE');
    const google = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: {
        provider: 'google',
        residency: 'IE',
        idToken: await t.identityProvider.mint('google', who),
        authorizationCode: 'x'.repeat(20),
        consents,
        device,
      },
    });
    expect(google.status).toBe(400);
    // Nothing was created by either.
    expect(
      (await t.rawItems()).filter((i) => String(i.SK) === 'PROFILE' && JSON.stringify(i).includes(who.sub)),
    ).toEqual([]);
  });

  it('a revocation Apple could not take (503) waits, and the sweep retries it until Apple can', async () => {
    const { who, accessToken } = await onboardWithApple();
    const [refreshToken] = t.appleId!.liveTokensOf(who.sub);
    t.appleId!.faults.revokeUnavailable = true;
    try {
      expect((await t.request('DELETE', '/api/v1/user/profile', { token: accessToken })).status).toBe(204);
      await expect
        .poll(() => t.appleId!.refused.includes(refreshToken!), { timeout: 20_000, interval: 100 })
        .toBe(true);
      expect((await sweep()).pending).toBeGreaterThan(0);
      expect(t.appleId!.revoked).not.toContain(refreshToken);
    } finally {
      t.appleId!.faults.revokeUnavailable = false;
    }
    expect((await scheduled()).appleRevocations.revoked).toBeGreaterThan(0);
    expect(t.appleId!.revoked).toContain(refreshToken);
  });

  it('only a 2xx is a revocation: a 400 invalid_client (a rotated key) keeps the token queued, outside the account, until Apple takes it', async () => {
    const { who, accessToken, userId } = await onboardWithApple();
    const [refreshToken] = live(who.sub);
    t.appleId!.faults.keyRevoked = true;
    try {
      expect((await t.request('DELETE', '/api/v1/user/profile', { token: accessToken })).status).toBe(204);
      await expect
        .poll(() => t.appleId!.refused.includes(refreshToken!), { timeout: 20_000, interval: 100 })
        .toBe(true);
      const queued = async () => (await pending()).find((i) => i.sealed_for === userId);
      await expect
        .poll(async () => (await queued())?.last_error, { timeout: 20_000, interval: 100 })
        .toBe('invalid_client');
      // Kept outside the deleted account's partition, sealed, and nothing else of the account is left.
      const item = (await queued())!;
      expect(item.PK).not.toContain(userId);
      expect(JSON.stringify(await t.rawItems())).not.toContain(refreshToken!);
      expect((await t.rawItems()).filter((i) => String(i.PK) === `USER#${userId}`)).toEqual([]);
      // The sweep reports how many wait and for how long: the alarm's metric.
      t.clock.advance(2 * 3600);
      const report = await sweep().finally(() => t.clock.advance(-2 * 3600));
      expect(report.pending).toBeGreaterThan(0);
      expect(report.oldestAgeSeconds).toBeGreaterThanOrEqual(2 * 3600);
      expect((await queued())!.attempts).toBeGreaterThanOrEqual(2);
    } finally {
      t.appleId!.faults.keyRevoked = false;
    }
    await sweep();
    expect(t.appleId!.revoked).toContain(refreshToken);
    expect((await pending()).filter((i) => i.sealed_for === userId)).toEqual([]);
  });

  it('the client counts a revocation only when Apple answers 2xx: 200 for a token revoked before, an error for invalid_client', async () => {
    const { who } = await onboardWithApple();
    const [refreshToken] = live(who.sub);
    const clientId = t.config.appleClientIds[0]!;
    await t.deps.appleId!.revoke(refreshToken!, clientId);
    await t.deps.appleId!.revoke(refreshToken!, clientId);
    await expect(t.deps.appleId!.revoke('r.unknown', '')).rejects.toMatchObject({
      name: 'AppleRevocationError',
      error: 'invalid_client',
    });
  });

  it('a code is optional: onboarding without one works as before, and deletion revokes nothing', async () => {
    const who = t.identity();
    const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: {
        provider: 'apple',
        residency: 'IE',
        idToken: await t.identityProvider.mint('apple', who),
        consents,
        device,
      },
    });
    expect(res.status).toBe(201);
    const revokedBefore = t.appleId!.revoked.length;
    await t.request('DELETE', '/api/v1/user/profile', { token: res.body.tokens.accessToken });
    await t.stream!.drain();
    expect(t.appleId!.revoked.length).toBe(revokedBefore);
  });
});
