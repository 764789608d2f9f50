import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../api-error';
import type { AccessTokenClaims, AccessTokens } from '../../domain/identity/access-tokens';
import type { SessionStore } from '../../domain/sessions/session-store';

const bearer = /^Bearer ([A-Za-z0-9_.-]{1,8192})$/;

/** A user item a route can read with the session check, and the item as read (undefined when absent). */
export type Prefetchable = 'profile' | 'job';
export type Prefetched = Partial<Record<Prefetchable, Record<string, unknown> | undefined>>;

/** The items a read route needs, by name: fetched with the session in one round trip (`c.get('prefetched')`). */
export type Reads = (
  c: Context<AppEnv>,
  auth: AccessTokenClaims,
) => Partial<Record<Prefetchable, { PK: string; SK: string }>>;

/**
 * The session check of protected routes, built once from its services (as Hono's `bearerAuth`
 * takes its `verifyToken`): a valid access token of this zone whose session is still open. Given
 * reads, the route's items come back with the session, in one round trip. A token of another
 * zone, an expired or invalid one, are the domain's errors (`web/error-answers.ts`).
 */
export function sessionCheck(deps: { accessTokens: AccessTokens; sessions: SessionStore }) {
  const { accessTokens, sessions } = deps;
  return (reads?: Reads): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const match = bearer.exec(c.req.header('authorization') ?? '');
      const how = 'Send the access token as "Authorization: Bearer <accessToken>"';
      if (!match) throw new ApiError(401, 'UNAUTHENTICATED', how);
      const claims = await accessTokens.verify(match[1]!);
      const wanted = Object.entries(reads?.(c, claims) ?? {});
      const { active, items } = await sessions.check(
        claims.userId,
        claims.sessionId,
        wanted.map(([, key]) => key),
      );
      if (!active) throw new ApiError(401, 'SESSION_ENDED', 'This session has ended; sign in again');
      c.set('auth', claims);
      c.set('prefetched', Object.fromEntries(wanted.map(([name], i) => [name, items[i]])));
      await next();
    };
}
