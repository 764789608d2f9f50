import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { apiDocs } from './api-docs';
import { foreignHostRefusal, isLoopbackHost } from './listen';

type FetchApp = { fetch: (request: Request, env?: unknown) => Response | Promise<Response> };

/**
 * What `npm start` serves on its port: the API reference at `/docs`, and every other request
 * handed to the app whole, so the app answers it as it does in Lambda (its own 404 and errors in
 * the API's error body). A request addressed to a name other than loopback's reaches neither.
 */
export function offlineFrontDoor(api: FetchApp) {
  // `/docs/` is the reference too, as a browser or a reader's typing leaves it.
  const site = new Hono({ strict: false });
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

/** The front door served over HTTP on 127.0.0.1:`port` (0: any free one), as `npm start` serves it. */
export async function serveOfflineFrontDoor(
  api: FetchApp,
  port: number,
): Promise<{ url: string; close: () => Promise<void> }> {
  const site = offlineFrontDoor(api);
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: site.fetch, hostname: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}
