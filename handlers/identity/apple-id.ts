import { createPrivateKey, sign } from 'node:crypto';
import type { Clock } from '../clock';

/** The app's Sign in with Apple key, as kept in Secrets Manager (never in the environment). */
export interface AppleSignInKey {
  teamId: string;
  keyId: string;
  /** The `.p8` private key (PEM, EC P-256) Apple issued for Sign in with Apple. */
  privateKey: string;
}

/** Apple refused the authorization code: expired, used, or not for this app. */
export class InvalidAuthorizationCodeError extends Error {
  override name = 'InvalidAuthorizationCodeError';
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * The Sign in with Apple REST API, the two calls account deletion needs: exchange the app's
 * authorization code for a refresh token at sign-up or sign-in (`/auth/token`), and revoke that
 * token when the account is deleted (`/auth/revoke`), as App Review expects. Each call carries a
 * client secret: an ES256 JWT signed with the app's key, valid five minutes. The base URL is
 * configuration (Apple's by default; offline, `local/apple-id-stand-in.ts`).
 */
export function createAppleIdClient(options: { baseUrl: string; key: () => Promise<AppleSignInKey>; clock: Clock; timeoutMs?: number }) {
  const url = (path: string) => `${options.baseUrl.replace(/\/$/, '')}${path}`;

  async function clientSecret(clientId: string): Promise<string> {
    const { teamId, keyId, privateKey } = await options.key();
    const iat = Math.floor(options.clock.now().getTime() / 1000);
    const input = `${b64({ alg: 'ES256', kid: keyId })}.${b64({ iss: teamId, iat, exp: iat + 300, aud: 'https://appleid.apple.com', sub: clientId })}`;
    const signature = sign('sha256', Buffer.from(input), { key: createPrivateKey(privateKey), dsaEncoding: 'ieee-p1363' });
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

  return {
    /** The refresh token of an authorization code the app got at sign-in with Apple. */
    async exchange(code: string, clientId: string): Promise<string> {
      const res = await post('/auth/token', { client_id: clientId, client_secret: await clientSecret(clientId), code, grant_type: 'authorization_code' });
      if (res.status === 400) throw new InvalidAuthorizationCodeError('Apple refused the authorization code');
      if (!res.ok) throw new Error(`Apple's token endpoint answered ${res.status}`);
      const { refresh_token } = (await res.json()) as { refresh_token?: string };
      if (!refresh_token) throw new Error("Apple's token endpoint returned no refresh token");
      return refresh_token;
    },

    /** Revokes a refresh token; a token Apple no longer knows counts as revoked. */
    async revoke(refreshToken: string, clientId: string): Promise<'revoked' | 'already_revoked'> {
      const res = await post('/auth/revoke', { client_id: clientId, client_secret: await clientSecret(clientId), token: refreshToken, token_type_hint: 'refresh_token' });
      if (res.ok) return 'revoked';
      if (res.status === 400) return 'already_revoked';
      throw new Error(`Apple's revoke endpoint answered ${res.status}`);
    },
  };
}

export type AppleIdClient = ReturnType<typeof createAppleIdClient>;

/** The key from Secrets Manager, read once, on the first Apple exchange or revocation. */
export function appleKeyFromSecret(region: string, secretArn: string): () => Promise<AppleSignInKey> {
  let key: Promise<AppleSignInKey> | undefined;
  return () => {
    key ??= import('@aws-sdk/client-secrets-manager').then(async ({ SecretsManagerClient, GetSecretValueCommand }) => {
      const out = await new SecretsManagerClient({ region, maxAttempts: 3 }).send(new GetSecretValueCommand({ SecretId: secretArn }));
      return JSON.parse(out.SecretString ?? '{}') as AppleSignInKey;
    });
    key.catch(() => (key = undefined));
    return key;
  };
}
