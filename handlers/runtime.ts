import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent, S3Event } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { createApp } from './app';
import { createStreamHandler } from './audit/stream-handler';
import type { Deps } from './deps';
import { createDispatcher } from './dispatch';
import { createPlatform, type Platform } from './platform';

export type Worker = (event: S3Event) => Promise<void>;

/**
 * The runtime's one front door: over one set of dependencies, the Hono app, the worker and the
 * stream handler, and the dispatcher the Lambda entry exports. Lambda (`lambda.ts`), `npm start`
 * (`local/platform.ts`) and the tests all start here, so all three run the same wiring. The worker
 * is built on the first upload, so the API's cold start never loads what only the worker uses.
 */
export function createRuntime(deps: Deps, options: { worker?: (platform: Platform) => Promise<Worker> } = {}) {
  const platform = createPlatform(deps);
  const app = createApp(deps, platform);
  const { appleId, pii } = deps;
  const stream = createStreamHandler({
    s3: deps.s3,
    auditBucket: deps.config.auditBucket,
    zone: deps.config.zone,
    logger: deps.logger,
    metrics: deps.metrics,
    revokeApple: appleId && (async (userId, sealed, clientId) => appleId.revoke(await pii.open(userId, 'apple_refresh_token', sealed), clientId)),
  });
  const loadWorker = options.worker;
  let worker: Promise<Worker> | undefined;
  // A failed load is not kept: the next upload loads again instead of failing for the container's life.
  const forgetFailedLoad = (err: unknown): never => {
    worker = undefined;
    throw err;
  };
  const dispatch = createDispatcher(
    {
      http: handle(app) as (event: unknown, context: Context) => Promise<unknown>,
      s3: loadWorker && (async (event) => (await (worker ??= loadWorker(platform).catch(forgetFailedLoad)))(event)),
      stream,
    },
    deps.logger,
  );
  return {
    platform,
    /** The Hono app: API Gateway's events in Lambda, the local server's requests offline. */
    app,
    /** Every event a function receives, as Lambda hands it over. */
    handler: (event: unknown, context: Context) => dispatch(event, context),
    /** S3 upload events, through the dispatcher. */
    uploads: (event: S3Event) => dispatch(event, {} as Context) as Promise<void>,
    /** Stream batches, through the dispatcher. */
    streamBatches: (event: DynamoDBStreamEvent) => dispatch(event, {} as Context) as Promise<DynamoDBBatchResponse>,
  };
}

export type Runtime = ReturnType<typeof createRuntime>;
