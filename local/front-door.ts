import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { apiDocs } from './api-docs';
import { foreignHostRefusal, isLoopbackHost } from './listen';

/**
 * What `npm start` serves on its port: the API reference at `/docs`, and every other request
 * handed to the app whole, so the app answers it as it does in Lambda (its own 404 and errors in
 * the API's error body). A request addressed to a name other than loopback's reaches neither.
 */
export function offlineFrontDoor(api: { fetch: (request: Request, env?: unknown) => Response | Promise<Response> }) {
  const site = new Hono();
  site.use(async (c, next) => {
    if (isLoopbackHost(c.req.header('host'))) return next();
    const requestId = randomUUID();
    const body = { error: { code: 'HOST_NOT_ALLOWED', message: foreignHostRefusal, retryable: false, requestId } };
    const headers = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId };
    return c.body(JSON.stringify(body), 403, headers);
  });
  site.route('/docs', apiDocs());
  // Not a page of the reference (nor of any other path): the app's own answer, 404 included.
  site.notFound((c) => api.fetch(c.req.raw, c.env));
  return site;
}
