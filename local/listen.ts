import type { Server } from 'node:net';

/** This machine's loopback by name, as a URL's hostname writes it. */
export const loopbackHostnames = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The names a request to the offline platform may be addressed to. Binding to 127.0.0.1 keeps the
 * network out, not a web page: a site whose DNS name turns into 127.0.0.1 (DNS rebinding) reaches
 * loopback servers from the developer's browser, with its own name in `Host`. No DNS answer can
 * put an address or `localhost` there. 10.0.2.2 is what the Android emulator calls this machine's
 * loopback (its NAT connects to 127.0.0.1); a browser on this machine never reaches loopback by it.
 */
const loopbackNames = new Set([...loopbackHostnames, '10.0.2.2']);

/** Whether a `Host` header (or HTTP/2 `:authority`), with or without port, names this machine's loopback. */
export function isLoopbackHost(host: string | undefined): boolean {
  const name = /^(\[[^\]]*\]|[^:[\]]*)(?::\d{1,5})?$/.exec(host ?? '')?.[1];
  return name !== undefined && loopbackNames.has(name.toLowerCase());
}

/** What the offline servers answer a request addressed to any other name. */
export const foreignHostRefusal =
  'The offline platform answers only requests addressed to 127.0.0.1, localhost or [::1] (a guard against DNS ' +
  'rebinding); call it by one of those names, or have your tunnel or proxy rewrite the Host header';

/** What HTTP/1's and HTTP/2's (compatibility API) request handlers share, and this check uses. */
type RequestListener = (
  req: { headers: Record<string, string | string[] | undefined> },
  res: { writeHead(status: number, headers: Record<string, string>): unknown; end(body: string): unknown },
) => void;

/**
 * Puts the `Host` check in front of a Node HTTP/1 or HTTP/2 server's request handlers (those
 * attached by now): a request addressed to any other name gets 403 and reaches none of them.
 */
export function refuseForeignHosts(server: Server): void {
  const handlers = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', ((req, res) => {
    const host = req.headers[':authority'] ?? req.headers.host;
    if (isLoopbackHost(typeof host === 'string' ? host : undefined)) {
      for (const handle of handlers) handle.call(server, req, res);
      return;
    }
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(foreignHostRefusal);
  }) satisfies RequestListener);
}

/**
 * Starts a stand-in's server on 127.0.0.1 (a random port unless given), answering only requests
 * addressed to loopback, and answers its base URL and closer.
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<{ url: string; close: () => Promise<void> }> {
  refuseForeignHosts(server);
  const bound: number = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${bound}`, close };
}
