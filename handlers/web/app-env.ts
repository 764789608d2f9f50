import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareHandler } from 'hono';
import type { AccessTokenClaims } from '../domain/identity/access-tokens';
import type { Reads } from './middleware/authenticate';

/** What middleware hands to routes through Hono's context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The request's own logger, its id on every line (and the Lambda context, in Lambda); made on first use. */
    log: () => Logger;
    /** Set by `authenticate` on protected routes. */
    auth: AccessTokenClaims;
    /** The session check, built once at the edge from the app's dependencies (`app.ts`); given reads, it fetches them too. */
    authenticate: (reads?: Reads) => MiddlewareHandler<AppEnv>;
    /** The items a read route declared, fetched with the session (`requireSessionReading`). */
    prefetched: Array<Record<string, unknown> | undefined>;
    /** Safe retries for the routes that create jobs, built once at the edge (`app.ts`). */
    idempotency: MiddlewareHandler<AppEnv>;
    /**
     * What an idempotent route's answer is made from when it holds short-lived grants (a presigned
     * upload): the route sets it; the record keeps it instead of the answer, and a replay hands it
     * back so the route answers afresh for the same job (`middleware/idempotency.ts`).
     */
    idempotentAnswer: { jobId: string } | undefined;
  };
}
