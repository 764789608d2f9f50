import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port';
import { serveOfflineFrontDoor } from '../../local/front-door';
import { restEvent } from '../../local/fixtures/rest-event';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/**
 * API.md: every error, whatever the status, has the error body and nothing else, as JSON in UTF-8.
 * A route the API does not have — an unknown path, or a method a known path does not take (API.md
 * lists no 405: "404 unknown") — is answered so by every front door: Lambda (API Gateway's REST
 * proxy event through the exported handler), `npm start`'s (its front door over HTTP, `/docs`
 * beside the app) and the tests' app.
 */

const unknownRoutes: Array<[method: string, path: string, body?: object]> = [
  ['GET', '/api/v1/nope'],
  ['PATCH', '/api/v1/user/profile', { givenName: 'Ada' }],
  ['POST', '/health', { ping: true }],
  ['DELETE', '/api/v1/openapi.json'],
  ['GET', '/nope'],
  ['GET', '/docs/nope'],
];

interface Answer {
  status: number;
  header: (name: string) => string | undefined;
  body: string;
}

function expectNotFoundBody(answer: Answer) {
  expect(answer.status).toBe(404);
  expect(answer.header('content-type')).toBe('application/json; charset=utf-8');
  const body = JSON.parse(answer.body);
  const message = 'No such route; see /api/v1/openapi.json';
  expect(body).toEqual({ error: { code: 'NOT_FOUND', message, retryable: false, requestId: expect.any(String) } });
  expect(answer.header('x-request-id')).toBe(body.error.requestId);
}

/** A fetch Response as an Answer. */
const answerOf = async (res: Response): Promise<Answer> => ({
  status: res.status,
  header: (name) => res.headers.get(name) ?? undefined,
  body: await res.text(),
});

const requestInit = (method: string, body?: object): RequestInit => ({
  method,
  headers: body ? { 'content-type': 'application/json' } : {},
  body: body && JSON.stringify(body),
});

let t: TestRuntime;
let site: Awaited<ReturnType<typeof serveOfflineFrontDoor>>;
beforeAll(async () => {
  t = await createTestRuntime();
  site = await serveOfflineFrontDoor(t.app, await freePort());
});
afterAll(async () => {
  await Promise.all([t?.stop(), site?.close()]);
});

describe.each(unknownRoutes)('%s %s', (method, path, body) => {
  it('Lambda (a REST proxy event) answers 404 with the error body', async () => {
    const event = restEvent(path, undefined, { method, body });
    const result = (await t.runtime.handler(event, {} as Context)) as APIGatewayProxyResult;
    // An event with multiValueHeaders is answered in multiValueHeaders (API Gateway reads either).
    const header = (name: string) => {
      const value = result.multiValueHeaders?.[name]?.[0] ?? result.headers?.[name];
      return value === undefined ? undefined : String(value);
    };
    expectNotFoundBody({ status: result.statusCode, header, body: result.body });
    expect(JSON.parse(result.body).error.requestId, "API Gateway's request id").toBe(event.requestContext.requestId);
  });

  it("npm start's front door, over HTTP, answers 404 with the error body", async () => {
    expectNotFoundBody(await answerOf(await fetch(`${site.url}${path}`, requestInit(method, body))));
  });

  it("the tests' app answers 404 with the error body", async () => {
    expectNotFoundBody(await answerOf(await t.app.request(path, requestInit(method, body))));
  });
});
