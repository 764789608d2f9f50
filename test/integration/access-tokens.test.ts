import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { publicJwkOf } from '../../contract';
import { apiUrl, createTestRuntime, euZone, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
let user: Awaited<ReturnType<TestRuntime['onboard']>>;
let signingKey: KeyObject;
let kid: string;

beforeAll(async () => {
  t = await createTestRuntime();
  user = await t.onboard();
  signingKey = createPrivateKey(t.keys.signingKeyPem);
  kid = publicJwkOf(createPublicKey(signingKey)).kid;
});

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

/** A token like ours, signed by our key unless told otherwise, with one thing changed. */
function token(
  change: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: KeyObject; alg?: string } = {},
) {
  const base = claimsOf(user.accessToken);
  return new SignJWT({ ...base, ...change.claims })
    .setProtectedHeader({ alg: change.alg ?? 'RS256', typ: 'JWT', kid, ...change.header })
    .sign(change.key ?? signingKey);
}

const header = () => ({ alg: 'RS256', typ: 'JWT', kid });
/** Signed with our key as we sign, whatever the header says (jose refuses to write `crit` it does not know). */
function signed(h: Record<string, unknown>, claims: Record<string, unknown>) {
  const input = `${b64(h)}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), signingKey).toString('base64url')}`;
}

const profileWith = (accessToken: string) => t.request('GET', '/api/v1/user/profile', { token: accessToken });
const now = () => Math.floor(Date.now() / 1000);

describe('protected routes', () => {
  it('accept the token the API issued, and a control token built like the forgeries', async () => {
    expect((await profileWith(user.accessToken)).status).toBe(200);
    expect((await profileWith(await token())).status).toBe(200);
    expect((await profileWith(signed(header(), claimsOf(user.accessToken)))).status).toBe(200);
  });

  describe('answer 401 to', () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases: Array<[string, () => Promise<string> | string, string?]> = [
      ['alg "none"', () => `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claimsOf(user.accessToken))}.`],
      [
        'HS256 signed with the public key as the secret',
        async () => {
          const secret = new TextEncoder().encode(
            createPublicKey(signingKey).export({ format: 'pem', type: 'spki' }).toString(),
          );
          return new SignJWT(claimsOf(user.accessToken)).setProtectedHeader({ alg: 'HS256', kid }).sign(secret);
        },
      ],
      ['an unknown kid', () => token({ header: { kid: 'someone-elses-key' } })],
      ['a token signed by another key with our kid', () => token({ key: otherKey })],
      ['an expired token', () => token({ claims: { iat: now() - 960, exp: now() - 60 } }), 'TOKEN_EXPIRED'],
      ['a token without exp', () => signed(header(), { ...claimsOf(user.accessToken), exp: undefined })],
      ['a token without iat', () => signed(header(), { ...claimsOf(user.accessToken), iat: undefined })],
      ['a lifetime longer than we issue', () => token({ claims: { iat: now(), exp: now() + 86_400 } })],
      ['iat in the future', () => token({ claims: { iat: now() + 3600, exp: now() + 3600 + 900 } })],
      ['a crit header', () => signed({ ...header(), crit: ['exp'] }, claimsOf(user.accessToken))],
      [
        'an unencoded payload (b64: false)',
        () => signed({ ...header(), b64: false, crit: ['b64'] }, claimsOf(user.accessToken)),
      ],
      [
        'a signature in non-canonical base64url (the same bytes, other padding bits)',
        () => {
          const [h, p, s] = user.accessToken.split('.');
          const last = s!.at(-1)!;
          const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
          // The last of 342 characters carries 2 bits of the signature and 4 unused ones.
          const twin = alphabet[(alphabet.indexOf(last) & 0b110000) | 0b0001]!;
          return `${h}.${p}.${s!.slice(0, -1)}${twin === last ? alphabet[alphabet.indexOf(last) ^ 0b0010] : twin}`;
        },
      ],
      ['nbf in the future', () => token({ claims: { nbf: now() + 3600 } })],
      ['a wrong issuer', () => token({ claims: { iss: 'https://evil.example.com' } })],
      ['a wrong audience', () => token({ claims: { aud: 'another-app' } })],
      ['another zone claim with our issuer', () => token({ claims: { zone: 'us' } })],
      [
        'a tampered payload',
        () => {
          const [h, , s] = user.accessToken.split('.');
          return `${h}.${b64({ ...claimsOf(user.accessToken), sub: crypto.randomUUID() })}.${s}`;
        },
      ],
      [
        'a tampered signature',
        () => {
          const [h, p, s] = user.accessToken.split('.');
          const sig = Buffer.from(s!, 'base64url');
          sig[10] = sig[10]! ^ 0xff;
          return `${h}.${p}.${sig.toString('base64url')}`;
        },
      ],
      ['garbage', () => 'garbage'],
      ['a token of an unknown session', () => token({ claims: { sid: crypto.randomUUID() } }), 'SESSION_ENDED'],
      ['an ID token where an access token is expected', () => t.identityProvider.mint('google', user.who)],
    ];
    it.each(cases)('%s', async (_, make, code = 'INVALID_TOKEN') => {
      const res = await profileWith(await make());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.retryable).toBe(false);
    });

    it('a request without the Bearer scheme', async () => {
      const res = await t.request('GET', '/api/v1/user/profile', { headers: { authorization: user.accessToken } });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('a request without a token', async () => {
      expect((await t.request('GET', '/api/v1/user/profile')).status).toBe(401);
    });

    it('a token of a deleted user', async () => {
      const doomed = await t.onboard();
      expect((await t.request('DELETE', '/api/v1/user/profile', { token: doomed.accessToken })).status).toBe(204);
      const res = await profileWith(doomed.accessToken);
      expect(res.status).toBe(401);
    });

    it('a token after sign-out', async () => {
      const leaving = await t.onboard();
      await t.request('POST', '/api/v1/auth/signout', { token: leaving.accessToken });
      expect((await profileWith(leaving.accessToken)).status).toBe(401);
    });

    it('an access token past its 15 minutes', async () => {
      t.clock.advance(-3600); // the API issues this one an hour ago
      const earlier = await t.onboard();
      t.clock.advance(3600);
      const res = await profileWith(earlier.accessToken);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('TOKEN_EXPIRED');
    });
  });

  it('answer 421 WRONG_ZONE with homeApi to a token of another zone, and write nothing', async () => {
    const otherZoneKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const foreign = await new SignJWT({ sub: user.userId, zone: 'eu', sid: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid: 'eu-key' })
      .setIssuer(euZone.issuer)
      .setAudience('serenya-mobile')
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(otherZoneKey);
    const before = JSON.stringify(await t.rawItems());
    const res = await t.request('PUT', '/api/v1/user/profile', { token: foreign, body: { name: 'Changed' } });
    expect(res.status).toBe(421);
    expect(res.body).toEqual({
      error: { code: 'WRONG_ZONE', message: expect.any(String), retryable: false, requestId: expect.any(String) },
      homeApi: euZone.homeApi,
    });
    expect(JSON.stringify(await t.rawItems())).toBe(before);
  });

  it('serve the public key that verifies the tokens at /.well-known/jwks.json', async () => {
    const res = await t.request('GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys).toEqual([expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig', kid })]);
    expect(JSON.stringify(res.body)).not.toMatch(/"d"|"p"|"q"/);
    expect(claimsOf(user.accessToken).iss).toBe(apiUrl);
  });
});

describe('verifying an access token in AWS', () => {
  it('never calls KMS, also at cold start: the public key comes from the stack (TOKEN_JWKS)', async () => {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { KMSClient, SignCommand, GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
    const { createAwsDeps } = await import('../../handlers/edge/aws-deps');
    const { parseLambdaConfig } = await import('../../handlers/core/config');
    const { createServices } = await import('../../handlers/services/services');
    const { createLogger } = await import('../../handlers/core/logger');
    const { deployedAppEnv, deployedKeyEnv, deployedSigningKey } = await import('../../local/fixtures/deployed-env');
    const kms = mockClient(KMSClient);
    kms.on(SignCommand).callsFake(({ Message }: { Message: Uint8Array }) => ({
      Signature: sign('sha256', Buffer.from(Message), deployedSigningKey.privateKey),
    }));
    try {
      const { app, keys } = parseLambdaConfig({ ...deployedAppEnv, ...deployedKeyEnv });
      const issuer = createServices(createAwsDeps(app, keys, createLogger('eu', 'SILENT')));
      const token = await issuer.accessTokens.issue({ userId: crypto.randomUUID(), sessionId: crypto.randomUUID() });
      expect(kms.commandCalls(SignCommand)).toHaveLength(1);
      // A fresh instance, as after a cold start: verification is local.
      const verifier = createServices(createAwsDeps(app, keys, createLogger('eu', 'SILENT')));
      await expect(verifier.accessTokens.verify(token)).resolves.toMatchObject({ userId: expect.any(String) });
      expect(kms.calls()).toHaveLength(1);
      expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(0);
      expect((await verifier.accessTokens.publicJwks()).keys[0]!.kid).toBe(
        JSON.parse(deployedKeyEnv.TOKEN_JWKS).keys[0].kid,
      );
    } finally {
      kms.restore();
    }
  });
});
