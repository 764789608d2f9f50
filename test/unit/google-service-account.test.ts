import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serviceAccountAccessToken } from '../../handlers/domain/subscriptions/google-service-account';
import { listenOnLoopback } from '../../local/listen';
import { movableClock } from '../support/test-runtime';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:serenya/google-play-api-key';
let secretReads = 0;
const assertions: Array<{ header: any; claims: any; signed: boolean; grant: string | null }> = [];
const servers: Array<() => Promise<void>> = [];
let tokenUri = '';

beforeAll(async () => {
  // Google's token endpoint: checks the RFC 7523 assertion and answers a token.
  const google = await listenOnLoopback(
    createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const [h, c, s] = (form.get('assertion') ?? '').split('.');
        const signed = verify(
          'RSA-SHA256',
          Buffer.from(`${h}.${c}`),
          createPublicKey(privateKey),
          Buffer.from(s ?? '', 'base64url'),
        );
        const decode = (part?: string) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString());
        assertions.push({ header: decode(h), claims: decode(c), signed, grant: form.get('grant_type') });
        res.writeHead(signed ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: `token-${assertions.length}`, expires_in: 3600, token_type: 'Bearer' }));
      });
    }),
  );
  tokenUri = `${google.url}/token`;
  // Secrets Manager (JSON 1.1): the service-account key file Google hands out.
  const secrets = await listenOnLoopback(
    createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        secretReads++;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            ARN: secretArn,
            SecretString: JSON.stringify({
              client_email: 'play@serenya.iam.gserviceaccount.com',
              private_key: privatePem,
              token_uri: tokenUri,
            }),
          }),
        );
      });
    }),
  );
  servers.push(google.close, secrets.close);
  // This worker's environment, until the file ends: later files must not meet these.
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secrets.url);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  for (const close of servers) await close();
});

describe('Play Developer API access tokens from a service-account key in Secrets Manager', () => {
  it('signs an RFC 7523 assertion with the key, reuses the token, and renews it before it expires', async () => {
    const clock = movableClock();
    const token = serviceAccountAccessToken('eu-west-1', secretArn, clock);
    expect(await token()).toBe('token-1');
    expect(await token()).toBe('token-1');
    expect(assertions).toHaveLength(1);
    expect(assertions[0]).toMatchObject({
      signed: true,
      grant: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      header: { alg: 'RS256', typ: 'JWT' },
      claims: {
        iss: 'play@serenya.iam.gserviceaccount.com',
        scope: 'https://www.googleapis.com/auth/androidpublisher',
        aud: tokenUri,
      },
    });
    expect(assertions[0]!.claims.exp - assertions[0]!.claims.iat).toBe(3600);

    clock.advance(3600 - 30);
    expect(await token()).toBe('token-2');
    expect(secretReads).toBe(1);
  });
});
