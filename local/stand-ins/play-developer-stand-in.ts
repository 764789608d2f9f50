import { createServer } from 'node:http';
import type { SubscriptionPurchaseV2 } from '../../handlers/domain/subscriptions/play-developer-client';
import { listenOnLoopback } from '../listen';

/**
 * Answers `purchases.subscriptionsv2.get` offline: the purchases it knows are set by tests (or
 * by hand), any bearer token is accepted, an unknown purchase token is a 404 as in Google's API.
 */
export async function startPlayDeveloperStandIn(options: { port?: number } = {}) {
  const purchases = new Map<string, SubscriptionPurchaseV2>();
  const server = createServer((req, res) => {
    const match = /^\/androidpublisher\/v3\/applications\/([^/]+)\/purchases\/subscriptionsv2\/tokens\/([^/]+)$/.exec(
      req.url ?? '',
    );
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? ''))
      return send(401, { error: { code: 401, message: 'Request is missing a bearer token' } });
    if (req.method !== 'GET' || !match) return send(404, { error: { code: 404, message: 'Not found' } });
    const purchase = purchases.get(decodeURIComponent(match[2]!));
    return purchase
      ? send(200, purchase)
      : send(404, { error: { code: 404, message: 'The purchase token was not found' } });
  });
  const { url, close } = await listenOnLoopback(server, options.port);
  return { url, purchases, stop: close };
}

export type PlayDeveloperStandIn = Awaited<ReturnType<typeof startPlayDeveloperStandIn>>;
