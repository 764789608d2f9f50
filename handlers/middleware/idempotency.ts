import { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { accountGone, ApiError } from '../errors';
import type { IdempotencyStore } from '../idempotency/idempotency-store';
import { AccountClosedError } from '../users/live-profile';
import type { EmailMac } from '../users/email-mac';

export const idempotencyHeader = 'idempotency-key';
const IdempotencyKey = z.uuid();

/** The header as the OpenAPI document declares it on the routes that honour it. */
export const IdempotencyHeaders = z.object({
  [idempotencyHeader]: IdempotencyKey.optional().openapi({
    param: { name: idempotencyHeader, in: 'header' },
    description: 'A UUID per logical request: a retry with the same key and body within 24 h returns the first answer and spends nothing',
  }),
});

/**
 * Safe retries for the routes that create a job. Phones retry on flaky networks; with an
 * `Idempotency-Key`, a retry of the same request returns the first answer (same job, same status),
 * the same key with another body is 422, and a retry while the first still runs is 409
 * (retryable). Without the header a route behaves as before. Only a 2xx answer is kept: after a
 * refusal or a failure, a retry runs again.
 *
 * Not Powertools' idempotency utility: its records sit under one static partition key, where an
 * account deletion cannot find them, and it hashes the payload with a bare hash — a chat message
 * is health data, and its bare hash may not be stored. Here the digest is keyed (the zone's MAC
 * key) and the record lives under the user.
 */
export function idempotency(store: IdempotencyStore, mac: EmailMac): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header(idempotencyHeader);
    if (key === undefined) return next();
    if (!IdempotencyKey.safeParse(key).success) throw new ApiError(400, 'VALIDATION_ERROR', 'Idempotency-Key must be a UUID; send a new one per logical request');
    const { userId } = c.get('auth');
    const digest = await mac.mac(`idempotency\n${c.req.method} ${c.req.path}\n${await c.req.text()}`);
    let claim;
    try {
      claim = await store.claim(userId, key, digest);
    } catch (err) {
      if (err instanceof AccountClosedError) throw accountGone();
      throw err;
    }
    if (claim.kind === 'mismatch') throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for another request; use a new key per request');
    if (claim.kind === 'in_progress') throw new ApiError(409, 'REQUEST_IN_PROGRESS', 'The first request with this Idempotency-Key is still running; retry in a moment', { retryable: true });
    if (claim.kind === 'completed') {
      c.header('idempotent-replayed', 'true');
      return c.body(claim.response.body, claim.response.status as 200, { 'content-type': 'application/json' });
    }
    try {
      await next();
    } catch (err) {
      await store.release(userId, key);
      throw err;
    }
    if (c.res.status >= 200 && c.res.status < 300) await store.complete(userId, key, { status: c.res.status, body: await c.res.clone().text() });
    else await store.release(userId, key);
  };
}

/** The route-level middleware of the routes that honour `Idempotency-Key` (after the session check). */
export const idempotent: MiddlewareHandler<AppEnv> = (c, next) => c.get('idempotency')(c, next);
