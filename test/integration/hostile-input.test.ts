import { beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
let routes: Array<{ method: string; path: string }>;

/** Answers of the session check, not of the route: a hostile request must get past it to the route's own validator. */
const authenticationCodes = new Set(['UNAUTHENTICATED', 'INVALID_TOKEN', 'TOKEN_EXPIRED', 'SESSION_ENDED']);
/** Routes that end the session they are called with: each gets a session of its own. */
const endsSession = (method: string, path: string) =>
  path === '/api/v1/auth/signout' || (method === 'DELETE' && path === '/api/v1/user/profile');

beforeAll(async () => {
  t = await createTestRuntime();
  const doc = (await t.request('GET', '/api/v1/openapi.json')).body;
  routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
  );
});

const bodies: Array<[string, string | undefined, string]> = [
  ['no body', undefined, 'application/json'],
  ['truncated JSON', '{"a":', 'application/json'],
  ['null', 'null', 'application/json'],
  ['a string', '"hello"', 'application/json'],
  ['an array', '[1,2,3]', 'application/json'],
  ['huge numbers', '{"contentLength":1e400,"message":1e308,"refreshToken":-0}', 'application/json'],
  ['deep nesting', `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`, 'application/json'],
  ['prototype keys', '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{}}}', 'application/json'],
  [
    'wrong types everywhere',
    '{"provider":1,"idToken":[],"consents":"yes","device":null,"message":{},"healthData":7,"signedPayload":false}',
    'application/json',
  ],
  ['unicode junk', `{"message":"${'\\ud800'.repeat(50)}","name":"\\u0000"}`, 'application/json'],
  ['form data', 'a=1&b=2', 'application/x-www-form-urlencoded'],
  ['300 KiB', JSON.stringify({ message: 'x'.repeat(300 * 1024) }), 'application/json'],
];

describe('hostile input never gets a 5xx, and always gets the API.md error body', () => {
  it.each(bodies)('%s, on every route of the OpenAPI document', async (_, rawBody, contentType) => {
    expect(routes.length).toBeGreaterThanOrEqual(15);
    const shared = (await t.onboard()).accessToken;
    for (const { method, path } of routes) {
      const concrete = path.replace('{jobId}', 'not-a-uuid');
      const live = endsSession(method, path) ? (await t.onboard()).accessToken : shared;
      for (const auth of [live, undefined]) {
        const res = await t.request(method, concrete, {
          rawBody: method === 'GET' ? undefined : rawBody,
          token: auth,
          headers: { 'content-type': contentType },
        });
        expect(res.status, `${method} ${concrete}`).toBeLessThan(500);
        // With a live session the route's own checks answer, never the session check.
        if (auth)
          expect(
            authenticationCodes.has(res.body?.error?.code),
            `${method} ${concrete}: ${res.body?.error?.code}`,
          ).toBe(false);
        if (res.status >= 400) {
          expect(
            Object.keys(res.body).filter((k) => k !== 'homeApi'),
            `${method} ${concrete}`,
          ).toEqual(['error']);
          expect(res.body.error).toEqual({
            code: expect.stringMatching(/^[A-Z_]+$/),
            message: expect.any(String),
            retryable: expect.any(Boolean),
            requestId: expect.any(String),
          });
        }
      }
    }
  });
});
