import type { MiddlewareHandler } from 'hono';
import type { AccessTokenClaims } from './identity/access-tokens';

/** What middleware hands to routes through Hono's context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by `authenticate` on protected routes. */
    auth: AccessTokenClaims;
    /** The session check, built once at the edge from the app's dependencies (`app.ts`). */
    authenticate: MiddlewareHandler<AppEnv>;
    /** Safe retries for the routes that create jobs, built once at the edge (`app.ts`). */
    idempotency: MiddlewareHandler<AppEnv>;
  };
}
