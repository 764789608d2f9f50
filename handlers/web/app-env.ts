import type { Logger } from '@aws-lambda-powertools/logger';
import type { AccessTokenClaims } from '../domain/identity/access-tokens';
import type { Prefetched } from './middleware/authenticate';

/** What middleware hands to routes through Hono's context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The request's own logger, its id on every line (and the Lambda context, in Lambda); made on first use. */
    log: () => Logger;
    /** Set by `authenticate` on protected routes. */
    auth: AccessTokenClaims;
    /** The items a read route declared, by name, fetched with the session (`middleware/authenticate.ts`). */
    prefetched: Prefetched;
    /**
     * What an idempotent route's answer is made from when it holds short-lived grants (a presigned
     * upload): the route sets it; the record keeps it instead of the answer, and a replay hands it
     * back so the route answers afresh for the same job (`middleware/idempotency.ts`).
     */
    idempotentAnswer: { jobId: string } | undefined;
  };
}
