import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { externalKey } from '../../handlers/domain/users/user-repository';
import { publicJwkOf } from '../../contract';
import { localClientIds } from '../../local/offline-config';
import { apiUrl, consents, createTestRuntime, device, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});

const onboardingBody = (idToken: string, overrides: Record<string, unknown> = {}) => ({
  provider: 'google',
  residency: 'IE',
  idToken,
  consents,
  device,
  ...overrides,
});

describe('POST /api/v1/auth/oauth-onboarding', () => {
  it('creates the user and answers profile, tokens, zone and homeApi', async () => {
    const who = t.identity({ name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' });
    const idToken = await t.identityProvider.mint('google', who);
    const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(idToken) });

    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
    expect(res.body.zone).toBe('dev');
    expect(res.body.homeApi).toBe(apiUrl);
    expect(res.body.user).toMatchObject({
      email: who.email,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
      authProvider: 'google',
      subscription: { type: 'free', status: 'active' },
      device,
    });
    expect(res.body.user.consents.medical_disclaimer).toMatchObject({ version: '1.0', accepted: true });
    expect(res.body.tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });

    const [header, payload] = res.body.tokens.accessToken
      .split('.')
      .slice(0, 2)
      .map((p: string) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(payload).toMatchObject({
      iss: apiUrl,
      aud: 'serenya-mobile',
      sub: res.body.user.id,
      zone: 'dev',
      sid: expect.any(String),
    });
    expect(payload.exp - payload.iat).toBe(900);
  });

  it('onboards an Apple account (Apple sends no name)', async () => {
    const who = t.identity({ name: undefined, givenName: undefined, familyName: undefined });
    const idToken = await t.identityProvider.mint('apple', who);
    const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', {
      body: onboardingBody(idToken, { provider: 'apple' }),
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ authProvider: 'apple', email: who.email, name: null });
  });

  it('answers 409 USER_EXISTS for an account already registered', async () => {
    const { who } = await t.onboard();
    const idToken = await t.identityProvider.mint('google', who);
    const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(idToken) });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'USER_EXISTS',
      retryable: false,
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('creates exactly one user from 20 concurrent onboardings of one account', async () => {
    const who = t.identity();
    const idToken = await t.identityProvider.mint('google', who);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(idToken) }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const key = await externalKey(t.deps.emailMac, 'google', who.sub);
    const profiles = (await t.rawItems()).filter((i) => i.SK === 'PROFILE' && i.GSI2PK === key);
    expect(profiles).toHaveLength(1);
  });

  it.each([
    [
      'a consent missing',
      { consents: { privacy_policy: consents.privacy_policy, terms_of_service: consents.terms_of_service } },
    ],
    ['a consent not accepted', { consents: { ...consents, medical_disclaimer: { version: '1.0', accepted: false } } }],
    ['an unknown field', { extra: 1 }],
    ['an unknown provider', { provider: 'facebook' }],
    ['no device', { device: undefined }],
  ])('answers 400 with %s, and creates nothing', async (_, overrides) => {
    const who = t.identity();
    const idToken = await t.identityProvider.mint('google', who);
    const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(idToken, overrides) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.message).not.toContain('extra');
    const key = await externalKey(t.deps.emailMac, 'google', who.sub);
    expect((await t.rawItems()).some((i) => i.GSI2PK === key || i.PK === key)).toBe(false);
  });

  describe('answers 401 INVALID_ID_TOKEN to an ID token that does not verify', () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    /** Signed by the trusted local provider key unless told otherwise, so one thing at a time is wrong. */
    const idToken = (opts: {
      iss?: string;
      aud?: string | string[];
      exp?: string | null;
      key?: KeyObject;
      azp?: string;
    }) => {
      const trusted = createPrivateKey(t.keys.identityProviderKeyPem);
      const jwt = new SignJWT({
        email: 'mallory@example.com',
        email_verified: true,
        ...(opts.azp ? { azp: opts.azp } : {}),
      })
        .setProtectedHeader({ alg: 'RS256', kid: publicJwkOf(createPublicKey(trusted)).kid })
        .setIssuer(opts.iss ?? 'https://accounts.google.com')
        .setAudience(opts.aud ?? localClientIds.google)
        .setSubject('mallory')
        .setIssuedAt();
      if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? '1h');
      return jwt.sign(opts.key ?? trusted);
    };

    it.each([
      ['signed by an unknown key', () => idToken({ key: otherKey })],
      ['for another audience', () => idToken({ aud: 'someone-else.apps.googleusercontent.com' })],
      ['from another issuer', () => idToken({ iss: 'https://evil.example.com' })],
      ['expired', () => idToken({ exp: '-1m' })],
      ['without an expiry', () => idToken({ exp: null })],
      [
        'for us and another party, issued to the other (azp)',
        () =>
          idToken({
            aud: [localClientIds.google, 'other.apps.googleusercontent.com'],
            azp: 'other.apps.googleusercontent.com',
          }),
      ],
      [
        'for us and another party, with no azp',
        () => idToken({ aud: [localClientIds.google, 'other.apps.googleusercontent.com'] }),
      ],
      ['that is garbage', async () => 'not.a.jwt-at-all-but-long-enough'],
    ])('%s', async (_, make) => {
      const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(await make()) });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_ID_TOKEN');
    });

    it('a control: the same builder with nothing wrong verifies, also with several audiences issued to us', async () => {
      const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(await idToken({})) });
      expect(res.status).toBe(201);
      await t.request('DELETE', '/api/v1/user/profile', { token: res.body.tokens.accessToken });
      const several = await idToken({
        aud: [localClientIds.google, 'other.apps.googleusercontent.com'],
        azp: localClientIds.google,
      });
      expect((await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(several) })).status).toBe(
        201,
      );
    });

    it('an Apple token presented as Google', async () => {
      const idToken = await t.identityProvider.mint('apple', t.identity());
      const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(idToken) });
      expect(res.status).toBe(401);
    });

    it('an email the provider has not verified', async () => {
      const who = t.identity();
      const unverified = await t.identityProvider.mint('google', who);
      const [h, p, s] = unverified.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      claims.email_verified = false;
      const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      const res = await t.request('POST', '/api/v1/auth/oauth-onboarding', { body: onboardingBody(tampered) });
      expect(res.status).toBe(401);
    });
  });
});

describe('POST /api/v1/auth/oauth-signin', () => {
  it('signs an onboarded user in with a new session and records the device', async () => {
    const { who, userId } = await t.onboard();
    const idToken = await t.identityProvider.mint('google', who);
    const newDevice = { platform: 'android', deviceId: 'pixel-9', appVersion: '1.1.0' };
    const res = await t.request('POST', '/api/v1/auth/oauth-signin', {
      body: { provider: 'google', idToken, device: newDevice },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      user: { id: userId, email: who.email, device: newDevice },
      zone: 'dev',
      homeApi: apiUrl,
    });
    const profile = await t.request('GET', '/api/v1/user/profile', { token: res.body.tokens.accessToken });
    expect(profile.status).toBe(200);
  });

  it('answers 404 USER_NOT_FOUND to an account never onboarded here, and writes nothing', async () => {
    const before = (await t.rawItems()).length;
    const idToken = await t.identityProvider.mint('google', t.identity());
    const res = await t.request('POST', '/api/v1/auth/oauth-signin', { body: { provider: 'google', idToken, device } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('USER_NOT_FOUND');
    expect((await t.rawItems()).length).toBe(before);
  });
});

describe('POST /api/v1/auth/refresh', () => {
  it('rotates: each refresh token is good once, and the new one works', async () => {
    const { refreshToken } = await t.onboard();
    const first = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.tokens.refreshToken).not.toBe(refreshToken);
    const profile = await t.request('GET', '/api/v1/user/profile', { token: first.body.tokens.accessToken });
    expect(profile.status).toBe(200);
    const second = await t.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: first.body.tokens.refreshToken },
    });
    expect(second.status).toBe(200);
  });

  it('revokes the whole session when a used refresh token comes back (401 TOKEN_REUSED)', async () => {
    const { refreshToken } = await t.onboard();
    const rotated = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    const reuse = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('TOKEN_REUSED');
    // The legitimate holder's newer tokens die with the session.
    const next = await t.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: rotated.body.tokens.refreshToken },
    });
    expect(next.status).toBe(401);
    const profile = await t.request('GET', '/api/v1/user/profile', { token: rotated.body.tokens.accessToken });
    expect(profile.status).toBe(401);
  });

  it('lets only one of two racing refreshes with the same token win', async () => {
    const { refreshToken } = await t.onboard();
    const results = await Promise.all(
      [1, 2].map(() => t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } })),
    );
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect(results.some((r) => r.status === 401)).toBe(true);
  });

  it.each([
    ['garbage', 'garbage'],
    ['a well-formed but unknown token', `${crypto.randomUUID()}.${crypto.randomUUID()}.${'A'.repeat(43)}`],
  ])('answers 401 INVALID_REFRESH_TOKEN to %s', async (_, refreshToken) => {
    const res = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('INVALID_REFRESH_TOKEN');
  });

  it('does not revoke a session for a guessed token (no denial of service by session id)', async () => {
    const { userId, refreshToken, accessToken } = await t.onboard();
    const sessionId = refreshToken.split('.')[1];
    const guess = await t.request('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: `${userId}.${sessionId}.${'B'.repeat(43)}` },
    });
    expect(guess.status).toBe(401);
    expect(guess.body.error.code).toBe('INVALID_REFRESH_TOKEN');
    expect((await t.request('GET', '/api/v1/user/profile', { token: accessToken })).status).toBe(200);
  });
});

describe('POST /api/v1/auth/signout', () => {
  it('ends the session: its access token and refresh token stop working at once', async () => {
    const { accessToken, refreshToken } = await t.onboard();
    const res = await t.request('POST', '/api/v1/auth/signout', { token: accessToken });
    expect(res.status).toBe(204);
    const profile = await t.request('GET', '/api/v1/user/profile', { token: accessToken });
    expect(profile.status).toBe(401);
    expect(profile.body.error.code).toBe('SESSION_ENDED');
    const refresh = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
    expect(refresh.status).toBe(401);
  });

  it('leaves the user’s other sessions open', async () => {
    const { who, accessToken } = await t.onboard();
    const idToken = await t.identityProvider.mint('google', who);
    const other = await t.request('POST', '/api/v1/auth/oauth-signin', {
      body: { provider: 'google', idToken, device },
    });
    await t.request('POST', '/api/v1/auth/signout', { token: other.body.tokens.accessToken });
    expect((await t.request('GET', '/api/v1/user/profile', { token: accessToken })).status).toBe(200);
  });

  it('needs a token', async () => {
    const res = await t.request('POST', '/api/v1/auth/signout');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });
});
