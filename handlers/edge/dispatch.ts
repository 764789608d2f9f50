import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, Context, DynamoDBStreamEvent, S3Event, ScheduledEvent } from 'aws-lambda';

/**
 * One bundle serves four functions; for the three on `index.handler` the event's shape says which part
 * of it runs (the chat function's `index.streamHandler` takes only its streamed route, `response-stream.ts`).
 */
export type EventKind = 'http' | 's3' | 'dynamodb-stream' | 'schedule' | 'unknown';

export function classifyEvent(event: unknown): EventKind {
  if (typeof event !== 'object' || event === null) return 'unknown';
  const e = event as Record<string, unknown>;
  if (typeof e.httpMethod === 'string' && typeof e.requestContext === 'object' && e.requestContext !== null)
    return 'http';
  // EventBridge's scheduled rule (the sweeps).
  if (e.source === 'aws.events' && e['detail-type'] === 'Scheduled Event') return 'schedule';
  const records = e.Records;
  if (Array.isArray(records) && records.length > 0) {
    const sources = new Set(records.map((r) => (r as Record<string, unknown> | null)?.eventSource));
    if (sources.size === 1 && sources.has('aws:s3')) return 's3';
    if (sources.size === 1 && sources.has('aws:dynamodb')) return 'dynamodb-stream';
  }
  return 'unknown';
}

export class UnsupportedEventError extends Error {
  override name = 'UnsupportedEventError';
}

export interface EventHandlers {
  http: (event: APIGatewayProxyEvent, context: Context) => Promise<unknown>;
  stream: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** The processing worker (S3 uploads); a function built without it refuses them like unknown events. */
  s3?: (event: S3Event) => Promise<unknown>;
  /** The scheduled sweeps; a function built without them refuses scheduled events like unknown ones. */
  schedule?: (event: ScheduledEvent) => Promise<unknown>;
}

/** Hands each event to its handler; anything else is logged by its shape only and refused. */
export function createDispatcher(handlers: EventHandlers, logger: Logger) {
  return async (event: unknown, context: Context): Promise<unknown> => {
    // Powertools' Lambda context (function, request id, cold start) on every line of this invocation.
    if (context?.awsRequestId) logger.addContext(context);
    const kind = classifyEvent(event);
    if (kind === 'http') return handlers.http(event as APIGatewayProxyEvent, context);
    if (kind === 'dynamodb-stream') return handlers.stream(event as DynamoDBStreamEvent);
    if (kind === 's3' && handlers.s3) return handlers.s3(event as S3Event);
    if (kind === 'schedule' && handlers.schedule) return handlers.schedule(event as ScheduledEvent);
    const keys = typeof event === 'object' && event !== null ? Object.keys(event).slice(0, 20) : [];
    logger.error('unsupported event', { kind, topLevelKeys: keys, type: event === null ? 'null' : typeof event });
    throw new UnsupportedEventError(`This function does not handle ${kind === 's3' ? 'S3' : 'this kind of'} event`);
  };
}
