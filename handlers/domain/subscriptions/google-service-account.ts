import { createSign } from 'node:crypto';
import type { Clock } from '../../core/clock';

const scope = 'https://www.googleapis.com/auth/androidpublisher';
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Access tokens for the Play Developer API from a Google service-account key kept in Secrets
 * Manager (never in the environment): a signed JWT assertion exchanged at Google's token
 * endpoint (RFC 7523), the token reused until a minute before it expires.
 */
export function serviceAccountAccessToken(region: string, secretArn: string, clock: Clock) {
  let key: Promise<{ client_email: string; private_key: string; token_uri: string }> | undefined;
  let cached: { token: string; expiresAt: number } | undefined;
  return async (): Promise<string> => {
    const now = clock.now().getTime();
    if (cached && cached.expiresAt - 60_000 > now) return cached.token;
    // Loaded on the first Google notification: no other path pays for the Secrets Manager client.
    key ??= import('@aws-sdk/client-secrets-manager').then(async ({ SecretsManagerClient, GetSecretValueCommand }) => {
      const out = await new SecretsManagerClient({ region, maxAttempts: 3 }).send(
        new GetSecretValueCommand({ SecretId: secretArn }),
      );
      return JSON.parse(out.SecretString ?? '{}');
    });
    key.catch(() => (key = undefined));
    const { client_email, private_key, token_uri } = await key;
    const iat = Math.floor(now / 1000);
    const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: client_email, scope, aud: token_uri, iat, exp: iat + 3600 })}`;
    const assertion = `${input}.${createSign('RSA-SHA256').update(input).sign(private_key, 'base64url')}`;
    const res = await fetch(token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`Google token endpoint answered ${res.status}`);
    const { access_token, expires_in } = (await res.json()) as { access_token: string; expires_in: number };
    cached = { token: access_token, expiresAt: now + expires_in * 1000 };
    return access_token;
  };
}
