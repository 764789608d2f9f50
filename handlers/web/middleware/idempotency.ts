import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../api-error';
import type { IdempotencyStore } from '../../domain/idempotency/idempotency-store';
import type { EmailMac } from '../../domain/users/email-mac';

export const idempotencyHeader = 'idempotency-key';
const IdempotencyKey = z.uuid();

/** The header as the OpenAPI document declares it on the routes that honour it. */
export const IdempotencyHeaders = z.object({
  [idempotencyHeader]: IdempotencyKey.optional().openapi({
    param: { name: idempotencyHeader, in: 'header' },
    description:
      'A UUID per logical request: a retry with the same key and body within 24 h returns the first answer and spends nothing',
  }),
});

/**
 * The request as MACed: a SHA-256 digest of method, path and body. KMS MACs at most 4,096 bytes
 * and a body may be 256 KiB, so KMS gets this fixed-size digest. It is only the MAC's message:
 * never stored nor logged (a bare hash of health data is health data).
 */
const requestDigest = (method: string, path: string, body: string) =>
  createHash('sha256').update(`${method} ${path}\n`).update(body).digest('base64url');

/**
 * Safe retries for the routes that create a job. Phones retry on flaky networks; with an
 * `Idempotency-Key`, a retry of the same request within 24 h returns the first answer (same job,
 * same status), the same key with another body is 422, and a retry while the first still runs is
 * 409 (retryable). Without the header a route behaves as before. Only a 2xx answer is kept: after
 * a refusal or a failure, a retry runs again. A route whose answer holds short-lived grants (the
 * presigned upload) sets `idempotentAnswer`: the record keeps that instead of the answer, and a
 * replay hands it back to the route, which answers afresh for the same job.
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
    if (!IdempotencyKey.safeParse(key).success)
      throw new ApiError(400, 'VALIDATION_ERROR', 'Idempotency-Key must be a UUID; send a new one per logical request');
    const { userId } = c.get('auth');
    const digest = await mac.mac(`idempotency\n${requestDigest(c.req.method, c.req.path, await c.req.text())}`);
    const claim = await store.claim(userId, key, digest);
    if (claim.kind === 'mismatch')
      throw new ApiError(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was used for another request; use a new key per request',
      );
    if (claim.kind === 'in_progress')
      throw new ApiError(
        409,
        'REQUEST_IN_PROGRESS',
        'The first request with this Idempotency-Key is still running; retry in a moment',
        { retryable: true },
      );
    if (claim.kind === 'completed') {
      const first = claim.response;
      if ('body' in first) {
        c.header('idempotent-replayed', 'true');
        return c.body(first.body, first.status as 200, { 'content-type': 'application/json' });
      }
      c.set('idempotentAnswer', first.answerFrom);
      await next();
      if (c.res.ok) c.res.headers.set('idempotent-replayed', 'true');
      return;
    }
    const { attempt } = claim;
    try {
      await next();
    } catch (err) {
      await store.release(userId, key, attempt);
      throw err;
    }
    const { status } = c.res;
    if (status < 200 || status >= 300) return store.release(userId, key, attempt);
    const answerFrom = c.get('idempotentAnswer');
    const first = answerFrom ? { status, answerFrom } : { status, body: await c.res.clone().text() };
    await store.complete(userId, key, attempt, first);
  };
}
