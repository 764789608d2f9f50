import type { MiddlewareHandler } from 'hono';

/**
 * API.md: JSON in and out as `application/json; charset=utf-8`. Hono's `c.json` names no charset,
 * so every JSON answer (routes, errors, the OpenAPI document, idempotent replays) gets it here.
 */
export function jsonCharset(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.res.headers.get('content-type')?.toLowerCase() === 'application/json') {
      c.header('content-type', 'application/json; charset=utf-8');
    }
  };
}
