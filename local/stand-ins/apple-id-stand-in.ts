import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT } from 'jose';
import { publicJwkOf } from '../../contract';
import type { AppleSignInKey } from '../../handlers/domain/identity/apple-id';
import { listenOnLoopback } from '../listen';

/**
 * Apple's Sign in with Apple REST API offline: `/auth/token` exchanges an authorization code the
 * identity provider stand-in minted (signed with its key, redeemable once) for a refresh token and
 * an `id_token` naming the code's account (signed with the identity provider's key, which the app
 * trusts as Apple's offline); `/auth/revoke` revokes one, answering 200 also for a token already
 * revoked or unknown, as Apple documents — each only with a client secret signed by the app's key
 * (here a local one) for a client id, else 400 `invalid_client`. Tests read `revoked`.
 */
export async function startAppleIdStandIn(options: { identityProviderKeyPem: string; port?: number }) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key: AppleSignInKey = {
    teamId: 'LOCALTEAM1',
    keyId: 'LOCALKEY01',
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
  const identityProviderKey = createPrivateKey(options.identityProviderKeyPem);
  const identityProvider = createPublicKey(identityProviderKey);
  const idTokenKid = publicJwkOf(identityProvider).kid;
  const redeemed = new Set<string>();
  const refreshTokens = new Map<string, { sub: string; clientId: string }>();
  const revoked: string[] = [];
  /** Revocations refused (endpoint down, client refused): proof a retry had something to retry. */
  const refused: string[] = [];
  const faults = {
    /** Apple's revoke endpoint is down (503) while set. */
    revokeUnavailable: false,
    /** The app's key was revoked or rotated at Apple: every client secret is refused (400 `invalid_client`). */
    keyRevoked: false,
  };

  /** A code the identity provider stand-in minted: its signature, unexpired, unused; who and for which client. */
  const codeGrant = (code: string): { sub: string; clientId: string } | undefined => {
    const [h, p, s] = code.split('.');
    if (!h || !p || !s || redeemed.has(code)) return undefined;
    try {
      return redeem(code, h, p, s);
    } catch {
      return undefined;
    }
  };
  const redeem = (code: string, h: string, p: string, s: string) => {
    const signed = verify('sha256', Buffer.from(`${h}.${p}`), identityProvider, Buffer.from(s, 'base64url'));
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    if (!signed || claims.use !== 'authorization_code' || claims.exp <= Date.now() / 1000) return undefined;
    redeemed.add(code);
    return { sub: claims.sub, clientId: claims.aud };
  };

  /** Apple's checks of a client secret: ES256 by the app's key, for Apple, from the team, for the client. */
  const trusted = (secret: string, clientId: string) => {
    const [h, p, s] = secret.split('.');
    if (!h || !p || !s || !clientId || faults.keyRevoked) return false;
    try {
      return trustedParts(h, p, s, clientId);
    } catch {
      return false;
    }
  };
  const trustedParts = (h: string, p: string, s: string, clientId: string) => {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const now = Date.now() / 1000;
    return (
      header.alg === 'ES256' &&
      header.kid === key.keyId &&
      claims.iss === key.teamId &&
      claims.sub === clientId &&
      claims.aud === 'https://appleid.apple.com' &&
      claims.exp > now &&
      claims.iat <= now + 60 &&
      verify(
        'sha256',
        Buffer.from(`${h}.${p}`),
        { key: publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(s, 'base64url'),
      )
    );
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const clientId = form.get('client_id') ?? '';
    if (req.method !== 'POST') return send(404, { error: 'not_found' });
    if (!trusted(form.get('client_secret') ?? '', clientId)) {
      if (req.url === '/auth/revoke') refused.push(form.get('token') ?? '');
      return send(400, { error: 'invalid_client' });
    }
    if (req.url === '/auth/token') {
      const grant = form.get('grant_type') === 'authorization_code' ? codeGrant(form.get('code') ?? '') : undefined;
      if (!grant || grant.clientId !== clientId) return send(400, { error: 'invalid_grant' });
      const refresh = `r.${randomBytes(24).toString('base64url')}`;
      refreshTokens.set(refresh, grant);
      const idToken = await new SignJWT({ email_verified: 'true' })
        .setProtectedHeader({ alg: 'RS256', kid: idTokenKid })
        .setIssuer('https://appleid.apple.com')
        .setAudience(clientId)
        .setSubject(grant.sub)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(identityProviderKey);
      const access = `a.${randomBytes(16).toString('base64url')}`;
      return send(200, {
        access_token: access,
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: refresh,
        id_token: idToken,
      });
    }
    if (req.url === '/auth/revoke') {
      const token = form.get('token') ?? '';
      if (faults.revokeUnavailable) {
        refused.push(token);
        return send(503, { error: 'temporarily_unavailable' });
      }
      // 200 also for a token revoked before or never issued ("previously invalid", says Apple).
      if (refreshTokens.delete(token)) revoked.push(token);
      return send(200, {});
    }
    return send(404, { error: 'not_found' });
  });
  const { url, close } = await listenOnLoopback(server, options.port);
  return {
    url,
    /** The app's Sign in with Apple key, as Secrets Manager holds it in AWS. */
    key,
    /** Refresh tokens Apple issued for a user and not yet revoked. */
    liveTokensOf: (sub: string) => [...refreshTokens].filter(([, g]) => g.sub === sub).map(([t]) => t),
    revoked,
    refused,
    faults,
    stop: close,
  };
}

export type AppleIdStandIn = Awaited<ReturnType<typeof startAppleIdStandIn>>;
