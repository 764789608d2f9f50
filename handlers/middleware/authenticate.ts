import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { InvalidAccessTokenError, WrongZoneError, type AccessTokens } from '../identity/access-tokens';
import type { SessionStore } from '../sessions/session-store';

const bearer = /^Bearer ([A-Za-z0-9_.-]{1,8192})$/;

/**
 * The middleware of every route that declares `security` (`secured()` in `routes/schemas.ts`
 * binds the two): the session check the app set up at its edge.
 */
export const requireSession: MiddlewareHandler<AppEnv> = (c, next) => c.get('authenticate')(c, next);

/** Protected routes: a valid access token of this zone whose session is still open. */
export function authenticate(accessTokens: AccessTokens, sessions: SessionStore): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = bearer.exec(c.req.header('authorization') ?? '');
    if (!match) throw new ApiError(401, 'UNAUTHENTICATED', 'Send the access token as "Authorization: Bearer <accessToken>"');
    let claims;
    try {
      claims = await accessTokens.verify(match[1]!);
    } catch (err) {
      if (err instanceof WrongZoneError) {
        throw new ApiError(421, 'WRONG_ZONE', 'This account lives in another zone; send the request to homeApi', {
          extra: { homeApi: err.homeApi },
        });
      }
      if (err instanceof InvalidAccessTokenError) {
        throw err.expired
          ? new ApiError(401, 'TOKEN_EXPIRED', 'The access token has expired; get a new one from /api/v1/auth/refresh')
          : new ApiError(401, 'INVALID_TOKEN', 'The access token is not valid; sign in again');
      }
      throw err;
    }
    if (!(await sessions.isActive(claims.userId, claims.sessionId))) {
      throw new ApiError(401, 'SESSION_ENDED', 'This session has ended; sign in again');
    }
    c.set('auth', claims);
    await next();
  };
}
