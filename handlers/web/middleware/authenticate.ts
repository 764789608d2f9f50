import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../api-error';
import type { AccessTokenClaims, AccessTokens } from '../../domain/identity/access-tokens';
import type { SessionStore } from '../../domain/sessions/session-store';

const bearer = /^Bearer ([A-Za-z0-9_.-]{1,8192})$/;

/** The items a read route needs, fetched with the session in one round trip (`c.get('prefetched')`). */
export type Reads = (c: Context<AppEnv>, auth: AccessTokenClaims) => Array<{ PK: string; SK: string }>;

/**
 * The middleware of every route that declares `security` (`secured()` in `routes/schemas.ts`
 * binds the two): the session check the app set up at its edge.
 */
export const requireSession: MiddlewareHandler<AppEnv> = (c, next) => c.get('authenticate')()(c, next);

/** The same, for a route that reads user items: they come back with the session, in one round trip. */
export const requireSessionReading = (reads: Reads): MiddlewareHandler<AppEnv> => (c, next) => c.get('authenticate')(reads)(c, next);

/** Protected routes: a valid access token of this zone whose session is still open. */
export const authenticate = (accessTokens: AccessTokens, sessions: SessionStore) => (reads?: Reads): MiddlewareHandler<AppEnv> => {
  return async (c, next) => {
    const match = bearer.exec(c.req.header('authorization') ?? '');
    if (!match) throw new ApiError(401, 'UNAUTHENTICATED', 'Send the access token as "Authorization: Bearer <accessToken>"');
    // Rejects with `InvalidAccessTokenError` or `WrongZoneError`, each its own answer.
    const claims = await accessTokens.verify(match[1]!);
    const { active, items } = await sessions.check(claims.userId, claims.sessionId, reads?.(c, claims));
    if (!active) throw new ApiError(401, 'SESSION_ENDED', 'This session has ended; sign in again');
    c.set('auth', claims);
    c.set('prefetched', items);
    await next();
  };
};
