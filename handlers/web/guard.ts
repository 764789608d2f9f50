import type { MiddlewareHandler } from 'hono';
import { itemKeys } from '../../contract';
import type { AppEnv } from './app-env';
import type { AccessTokens } from '../domain/identity/access-tokens';
import type { IdempotencyStore } from '../domain/idempotency/idempotency-store';
import type { SessionStore } from '../domain/sessions/session-store';
import type { EmailMac } from '../domain/users/email-mac';
import { sessionCheck, type Reads } from './middleware/authenticate';
import { idempotency, IdempotencyHeaders } from './middleware/idempotency';
import { bearerAuth, errorResponses, type RouteWithoutSecurity } from './routes/schemas';

/** The caller's own profile (their plan, for a new job), read with the session in the same round trip. */
export const ownProfile: Reads = (_c, auth) => ({ profile: itemKeys.profile(auth.userId) });

/**
 * The protected routes' definitions, built once from the services their middleware needs: the
 * `security` a route declares in the OpenAPI document and the middleware that enforces it are one
 * definition, so a route cannot be documented as protected and served open (nor protected by a
 * middleware mounted on a mistyped path).
 */
export function createGuard(deps: {
  accessTokens: AccessTokens;
  sessions: SessionStore;
  idempotency: IdempotencyStore;
  emailMac: EmailMac;
}) {
  const session = sessionCheck(deps);
  const plain = session();
  const retries = idempotency(deps.idempotency, deps.emailMac);
  return {
    /** A protected route. */
    secured: <R extends RouteWithoutSecurity>(route: R) => ({
      ...route,
      security: bearerAuth,
      middleware: plain as MiddlewareHandler<AppEnv>,
    }),

    /** A protected route that reads user items, by name: they come with the session check, in one round trip. */
    securedReading: <R extends RouteWithoutSecurity>(route: R, reads: Reads) => ({
      ...route,
      security: bearerAuth,
      middleware: session(reads),
    }),

    /**
     * A protected route that creates a job: the caller's profile (their plan) comes with the session
     * check in one round trip, and it honours `Idempotency-Key` (declared in the document, with its
     * 409 and 422 answers), checked after the session.
     */
    securedIdempotent: <R extends RouteWithoutSecurity>(route: R) => ({
      ...route,
      security: bearerAuth,
      middleware: [session(ownProfile), retries],
      request: { ...route.request, headers: IdempotencyHeaders } as NonNullable<R['request']> & {
        headers: typeof IdempotencyHeaders;
      },
      responses: { ...route.responses, ...errorResponses(409, 422) } as R['responses'],
    }),
  };
}

export type Guard = ReturnType<typeof createGuard>;
