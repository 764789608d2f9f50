import type { Context, S3Event } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { createApp } from './app';
import { createStreamHandler } from './audit/stream-handler';
import type { Deps } from './deps';
import { createDispatcher } from './dispatch';
import { createPlatform, type Platform } from './platform';

/**
 * The Lambda handler over given dependencies: API Gateway events to the Hono app, stream
 * records to the audit handler, uploads to the worker — which is built on the first upload, so
 * the API's cold start never loads what only the worker uses (Bedrock).
 */
/** The stream function's handler over the dependencies: the same in Lambda, `npm start` and the tests. */
export function streamHandlerOf(deps: Deps) {
  const { appleId, pii } = deps;
  return createStreamHandler({
    s3: deps.s3,
    auditBucket: deps.config.auditBucket,
    zone: deps.config.zone,
    logger: deps.logger,
    metrics: deps.metrics,
    revokeApple: appleId && (async (userId, sealed, clientId) => appleId.revoke(await pii.open(userId, 'apple_refresh_token', sealed), clientId)),
  });
}

export function createLambdaHandler(deps: Deps, options: { worker?: (platform: Platform) => Promise<(event: S3Event) => Promise<void>> } = {}) {
  const platform = createPlatform(deps);
  const loadWorker = options.worker;
  let worker: Promise<(event: S3Event) => Promise<void>> | undefined;
  const dispatch = createDispatcher(
    {
      http: handle(createApp(deps, platform)) as (event: unknown, context: Context) => Promise<unknown>,
      s3: loadWorker && (async (event) => (await (worker ??= loadWorker(platform)))(event)),
      stream: streamHandlerOf(deps),
    },
    deps.logger,
  );
  return (event: unknown, context: Context) => dispatch(event, context);
}
