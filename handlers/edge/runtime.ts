import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent, S3Event, ScheduledEvent } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { createApp } from '../web/app';
import { createStreamHandler } from '../domain/audit/stream-handler';
import type { Deps } from '../services/deps';
import { createDispatcher } from './dispatch';
import type { Model } from '../domain/jobs/job';
import { createUploadWorker } from '../domain/jobs/upload-worker';
import { once } from '../core/once';
import { createServices } from '../services/services';

/**
 * The runtime's one front door: over one set of dependencies, the Hono app, the upload worker and
 * the stream handler, and the dispatcher the Lambda entry exports. Lambda (`lambda.ts`),
 * `npm start` (`local/offline-platform.ts`) and the tests all start here, so all three run the same wiring.
 */
export function createRuntime(deps: Deps) {
  const services = createServices(deps);
  const app = createApp(deps, services);
  const stream = createStreamHandler({
    s3: deps.s3,
    auditBucket: deps.config.auditBucket,
    zone: deps.config.zone,
    logger: deps.logger,
    metrics: deps.metrics,
    appleTokens: services.appleTokens,
  });
  // Loaded on the first upload, and again after a load that failed.
  const model = once<Model>(deps.model);
  // The scheduled sweeps, unfinished account deletions and pending Apple token revocations, each on
  // its own: one that fails holds back neither the other nor its report; the run still fails after.
  const schedule = async () => {
    const [deletions, appleRevocations] = await Promise.allSettled([
      services.deletion.sweep(),
      services.appleTokens.sweep(),
    ]);
    if (deletions.status === 'rejected') throw deletions.reason;
    if (appleRevocations.status === 'rejected') throw appleRevocations.reason;
    return { deletions: deletions.value, appleRevocations: appleRevocations.value };
  };
  const dispatch = createDispatcher(
    {
      http: handle(app) as (event: unknown, context: Context) => Promise<unknown>,
      s3: createUploadWorker(services.jobs, model, deps.logger),
      stream,
      schedule,
    },
    deps.logger,
  );
  return {
    services,
    /** The Hono app: API Gateway's events in Lambda, the local server's requests offline. */
    app,
    /** Every event a function receives, as Lambda hands it over. */
    handler: (event: unknown, context: Context) => dispatch(event, context),
    /** S3 upload events, through the dispatcher. */
    uploads: (event: S3Event) => dispatch(event, {} as Context) as Promise<void>,
    /** EventBridge's scheduled events (the sweeps), through the dispatcher. */
    scheduled: (event: ScheduledEvent) => dispatch(event, {} as Context) as ReturnType<typeof schedule>,
    /** Stream batches, through the dispatcher. */
    streamBatches: (event: DynamoDBStreamEvent) => dispatch(event, {} as Context) as Promise<DynamoDBBatchResponse>,
  };
}

export type Runtime = ReturnType<typeof createRuntime>;
