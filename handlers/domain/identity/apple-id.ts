import { createPrivateKey, sign } from 'node:crypto';
import { JwtVerifier } from 'aws-jwt-verify';
import type { JwksCache } from 'aws-jwt-verify/jwk';
import type { Clock } from '../../core/clock';
import { identityProviders } from './id-tokens';
import { DomainError } from '../../core/errors';

/** The app's Sign in with Apple key, as kept in Secrets Manager (never in the environment). */
export interface AppleSignInKey {
  teamId: string;
  keyId: string;
  /** The `.p8` private key (PEM, EC P-256) Apple issued for Sign in with Apple. */
  privateKey: string;
}

/** Apple refused the authorization code: expired, used, or not for this app. */
export class InvalidAuthorizationCodeError extends DomainError {
  override name = 'InvalidAuthorizationCodeError';
}

/**
 * Apple did not confirm a revocation. `error` is Apple's code (`invalid_client` after a key rotation
 * or with a wrong client id, `invalid_grant`, …) or `http_<status>`: never the token.
 */
export class AppleRevocationError extends Error {
  override name = 'AppleRevocationError';
  constructor(readonly error: string) {
    super(`Apple's revoke endpoint did not revoke the token (${error})`);
  }
}

/** What an authorization code is worth: Apple's refresh token and the Apple account it belongs to. */
export interface AppleGrant {
  refreshToken: string;
  /**
   * The `sub` of the `id_token` Apple returned with it, verified (Apple's signature, issuer, this
   * client as audience, unexpired); undefined when it did not verify — the grant is then nobody's.
   */
  subject: string | undefined;
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const appleIssuer = identityProviders.apple.issuers[0];
/** The error codes of Apple's `ErrorResponse`; anything else is named by its HTTP status. */
const appleErrors = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);

/**
 * The Sign in with Apple REST API, the two calls account deletion needs: exchange the app's
 * authorization code for a refresh token at sign-up or sign-in (`/auth/token`), and revoke that
 * token when the account is deleted (`/auth/revoke`), as App Review expects. Each call carries a
 * client secret: an ES256 JWT signed with the app's key, valid five minutes. The base URL is
 * configuration (Apple's by default; offline, `local/stand-ins/apple-id-stand-in.ts`), and so is the key set
 * the token endpoint's `id_token` is verified with (Apple's by default; offline, the local one).
 */
export function createAppleIdClient(options: {
  baseUrl: string;
  key: () => Promise<AppleSignInKey>;
  clock: Clock;
  timeoutMs?: number;
  jwksCache?: JwksCache;
}) {
  const url = (path: string) => `${options.baseUrl.replace(/\/$/, '')}${path}`;
  const idTokens = JwtVerifier.create(
    { issuer: appleIssuer, jwksUri: identityProviders.apple.jwksUri },
    options.jwksCache ? { jwksCache: options.jwksCache } : undefined,
  );

  async function clientSecret(clientId: string): Promise<string> {
    const { teamId, keyId, privateKey } = await options.key();
    const iat = Math.floor(options.clock.now().getTime() / 1000);
    const claims = { iss: teamId, iat, exp: iat + 300, aud: appleIssuer, sub: clientId };
    const input = `${b64({ alg: 'ES256', kid: keyId })}.${b64(claims)}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: createPrivateKey(privateKey),
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }

  async function post(path: string, form: Record<string, string>) {
    return fetch(url(path), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  }

  /** The account an `id_token` of the token endpoint names, or undefined when it does not verify. */
  async function subjectOf(idToken: unknown, clientId: string): Promise<string | undefined> {
    if (typeof idToken !== 'string') return undefined;
    try {
      const claims = await idTokens.verify(idToken, { audience: clientId });
      return typeof claims.sub === 'string' && claims.sub ? claims.sub : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    /** Apple's refresh token for an authorization code the app got at sign-in with Apple, and whose it is. */
    async exchange(code: string, clientId: string): Promise<AppleGrant> {
      const res = await post('/auth/token', {
        client_id: clientId,
        client_secret: await clientSecret(clientId),
        code,
        grant_type: 'authorization_code',
      });
      if (res.status === 400) throw new InvalidAuthorizationCodeError('Apple refused the authorization code');
      if (!res.ok) throw new Error(`Apple's token endpoint answered ${res.status}`);
      const { refresh_token, id_token } = (await res.json()) as { refresh_token?: string; id_token?: unknown };
      if (!refresh_token) throw new Error("Apple's token endpoint returned no refresh token");
      return { refreshToken: refresh_token, subject: await subjectOf(id_token, clientId) };
    },

    /**
     * Revokes a refresh token. Only a 2xx is a revocation: Apple answers 200 also for a token it
     * already revoked, so any other answer (a 400 such as `invalid_client`, a 5xx, a timeout) throws.
     */
    async revoke(refreshToken: string, clientId: string): Promise<void> {
      const res = await post('/auth/revoke', {
        client_id: clientId,
        client_secret: await clientSecret(clientId),
        token: refreshToken,
        token_type_hint: 'refresh_token',
      });
      if (res.ok) return;
      const body = (await res.json().catch(() => ({}))) as { error?: unknown };
      const known = typeof body.error === 'string' && appleErrors.has(body.error);
      throw new AppleRevocationError(known ? (body.error as string) : `http_${res.status}`);
    },
  };
}

export type AppleIdClient = ReturnType<typeof createAppleIdClient>;

/** The key from Secrets Manager, read once, on the first Apple exchange or revocation. */
export function appleKeyFromSecret(region: string, secretArn: string): () => Promise<AppleSignInKey> {
  let key: Promise<AppleSignInKey> | undefined;
  return () => {
    key ??= import('@aws-sdk/client-secrets-manager').then(async ({ SecretsManagerClient, GetSecretValueCommand }) => {
      const out = await new SecretsManagerClient({ region, maxAttempts: 3 }).send(
        new GetSecretValueCommand({ SecretId: secretArn }),
      );
      return JSON.parse(out.SecretString ?? '{}') as AppleSignInKey;
    });
    key.catch(() => (key = undefined));
    return key;
  };
}
