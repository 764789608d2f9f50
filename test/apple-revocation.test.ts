import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startStreamPoller } from '../local/stream-poller';
import { startTestStream } from './support/test-stream';
import { consents, createTestPlatform, device, type TestPlatform } from './support/test-platform';

/**
 * Deleting an account revokes its Sign in with Apple tokens, as App Review requires: the app sends
 * Apple's authorizationCode with the ID token, the server exchanges it for a refresh token kept
 * sealed, and the users table's stream revokes it at Apple once the account is gone — deletion
 * itself never waits on Apple. Against the offline Apple stand-in.
 */
let t: TestPlatform;
let poller: ReturnType<typeof startStreamPoller>;
beforeAll(async () => {
  t = await createTestPlatform({ appleId: true });
  poller = startTestStream(t);
});
afterAll(async () => {
  poller.stop();
  await t.stop();
});

/** The stream reaches Apple a moment after the deletion answered (and later under load). */
const revoked = (token: string) => expect.poll(() => t.appleId!.revoked.includes(token), { timeout: 20_000, interval: 100 }).toBe(true);

async function onboardWithApple(who = t.identity()) {
  const idToken = await t.identityProvider.mint('apple', who);
  const authorizationCode = await t.identityProvider.mintAppleAuthorizationCode(who.sub);
  const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: { provider: 'apple', idToken, authorizationCode, consents, device } });
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
    expect(await t.deps.pii.open(userId, 'apple_refresh_token', profile.apple_refresh_token as string)).toBe(refreshToken);
  });

  it('are revoked at Apple once the account is deleted — after the deletion answered', async () => {
    const { who, accessToken } = await onboardWithApple();
    const [refreshToken] = t.appleId!.liveTokensOf(who.sub);
    expect((await t.request('DELETE', '/api/v1/user/profile', { token: accessToken })).status).toBe(204);
    await revoked(refreshToken!);
    expect(t.appleId!.liveTokensOf(who.sub)).toEqual([]);
  });

  it('a sign-in with a new code replaces the kept token, and deletion revokes that one', async () => {
    const { who } = await onboardWithApple();
    const idToken = await t.identityProvider.mint('apple', who);
    const authorizationCode = await t.identityProvider.mintAppleAuthorizationCode(who.sub);
    const signin = await t.request('POST', '/api/v1/auth/oauth-signin', { body: { provider: 'apple', idToken, authorizationCode, device } });
    expect(signin.status).toBe(200);
    const latest = t.appleId!.liveTokensOf(who.sub).at(-1)!;
    await t.request('DELETE', '/api/v1/user/profile', { token: signin.body.tokens.accessToken });
    await revoked(latest);
  });

  it('refuses a code Apple does not accept, and a code with a Google sign-in', async () => {
    const who = t.identity();
    const idToken = await t.identityProvider.mint('apple', who);
    const bad = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: { provider: 'apple', idToken, authorizationCode: 'not-a-code-apple-issued', consents, device } });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('INVALID_AUTHORIZATION_CODE');
    const google = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: { provider: 'google', idToken: await t.identityProvider.mint('google', who), authorizationCode: 'x'.repeat(20), consents, device },
    });
    expect(google.status).toBe(400);
    // Nothing was created by either.
    expect((await t.rawItems()).filter((i) => String(i.SK) === 'PROFILE' && JSON.stringify(i).includes(who.sub))).toEqual([]);
  });

  it('a revocation Apple could not take is retried until it can', async () => {
    const { who, accessToken } = await onboardWithApple();
    const [refreshToken] = t.appleId!.liveTokensOf(who.sub);
    t.appleId!.faults.revokeUnavailable = true;
    try {
      expect((await t.request('DELETE', '/api/v1/user/profile', { token: accessToken })).status).toBe(204);
      await expect.poll(() => t.appleId!.refused.includes(refreshToken!), { timeout: 20_000, interval: 100 }).toBe(true);
      expect(t.appleId!.revoked).not.toContain(refreshToken);
    } finally {
      t.appleId!.faults.revokeUnavailable = false;
    }
    await revoked(refreshToken!);
  });

  it('a code is optional: onboarding without one works as before, and deletion revokes nothing', async () => {
    const who = t.identity();
    const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: { provider: 'apple', idToken: await t.identityProvider.mint('apple', who), consents, device } });
    expect(res.status).toBe(201);
    const revokedBefore = t.appleId!.revoked.length;
    await t.request('DELETE', '/api/v1/user/profile', { token: res.body.tokens.accessToken });
    await poller.drain();
    expect(t.appleId!.revoked.length).toBe(revokedBefore);
  });
});
