import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../../../contract';
import type { Clock } from '../../core/clock';
import type { AppConfig } from '../../core/config';
import { transactWhileLive } from '../users/live-account';
import { unlessConditionFails } from '../../core/conditions';
import { afterConflict, again, retrying } from '../../core/dynamo-retry';
import { ContentionError, DomainError } from '../../core/errors';
import type { Job, JobError, JobStatus, JobType, Usage } from './job';

/** What a daily counter counts, one counter per kind of model call. */
export type DailyCounter = 'documents' | 'chat_messages' | 'doctor_reports';

/** Over a quota; `retryAfterSeconds` says when a retry can succeed. */
export class QuotaExceededError extends DomainError {
  override name = 'QuotaExceededError';
  constructor(
    readonly limit: 'concurrent' | 'daily',
    readonly retryAfterSeconds: number,
  ) {
    super(limit === 'concurrent' ? 'Too many jobs in progress' : 'Daily document limit reached');
  }
}

const JOB_TTL_SECONDS = 24 * 3600;
/** Slack for clocks and queues before a job's silence counts as failure. */
const MARGIN_SECONDS = 60;

const { job: jobKey, activeJobs: activeKey, dailyJobs: dailyKey } = itemKeys;

/** A job item as this store writes it (snake case, as every item of the table). */
interface JobItem {
  job_id: string;
  user_id: string;
  type: Job['type'];
  status: Job['status'];
  content_type: Job['contentType'];
  document_type: Job['documentType'];
  error: Job['error'];
  usage?: { model_id: string; input_tokens: number; output_tokens: number };
  created_at: string;
  updated_at: string;
  started_at: Job['startedAt'];
}

function toJob(record: Record<string, unknown>): Job {
  const item = record as unknown as JobItem;
  return {
    jobId: item.job_id,
    userId: item.user_id,
    type: item.type,
    status: item.status,
    contentType: item.content_type,
    documentType: item.document_type,
    error: item.error,
    usage: item.usage && {
      modelId: item.usage.model_id,
      inputTokens: item.usage.input_tokens,
      outputTokens: item.usage.output_tokens,
    },
    createdAt: item.created_at,
    updatedAt: item.updated_at,
    startedAt: item.started_at,
  };
}

/**
 * Jobs under their user (`SK = JOB#<id>`), so another user's job id is simply not found. Quotas
 * are enforced atomically in the same transaction that creates the job: a daily counter
 * (`QUOTA#<day>`) and a set of active-job slots (`QUOTA#ACTIVE`) that expire on their own, so a
 * job that dies silently cannot hold a slot for ever.
 */
export function createJobStore(deps: { dynamo: DynamoDBDocumentClient; config: AppConfig; clock: Clock }) {
  const { dynamo, config, clock } = deps;
  const table = config.usersTable;
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  /** How long a job may hold its slot: the upload window, the worker's run, and a margin. */
  const slotSeconds = config.uploadWindowSeconds + config.workerTimeoutSeconds + MARGIN_SECONDS;
  /** A streamed answer's slot: the streaming function runs at most as long as the worker. */
  const streamSlotSeconds = config.workerTimeoutSeconds + MARGIN_SECONDS;

  async function release(userId: string, jobId: string) {
    const update = new UpdateCommand({
      TableName: table,
      Key: activeKey(userId),
      UpdateExpression: 'REMOVE slots.#job',
      ConditionExpression: 'attribute_exists(slots)',
      ExpressionAttributeNames: { '#job': jobId },
    });
    await unlessConditionFails(dynamo.send(update), undefined);
  }

  /** Moves a job to a final state; false when it was no longer in one of `from` (e.g. cleaned up meanwhile). */
  async function finish(
    userId: string,
    jobId: string,
    set: Record<string, unknown>,
    from: JobStatus[],
  ): Promise<boolean> {
    const names = Object.keys(set);
    const update = new UpdateCommand({
      TableName: table,
      Key: jobKey(userId, jobId),
      ConditionExpression: `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
      UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')}`,
      ExpressionAttributeNames: { '#status': 'status', ...Object.fromEntries(names.map((n) => [`#${n}`, n])) },
      ExpressionAttributeValues: {
        ...Object.fromEntries(from.map((s, i) => [`:from${i}`, s])),
        ...Object.fromEntries(names.map((n) => [`:${n}`, set[n]])),
      },
    });
    try {
      return await unlessConditionFails(
        dynamo.send(update).then(() => true),
        false,
      );
    } finally {
      await release(userId, jobId);
    }
  }

  return {
    /**
     * Creates a job in `awaiting_upload` if the user is within quota. Document jobs count
     * against the daily limit; every job takes one of the concurrent slots.
     */
    async reserve(input: {
      userId: string;
      jobId: string;
      type: JobType;
      contentType: string;
      documentType?: string;
      /** The plan's daily cap on this kind of job: every job that reaches the model counts. */
      daily: { counter: DailyCounter; limit: number };
      /**
       * A streamed answer: the slot and the daily count only, no job item (nothing of it is stored);
       * its slot expires after the streaming function's run, and `releaseSlot` frees it sooner.
       */
      streamed?: boolean;
    }): Promise<Job> {
      const { userId, jobId } = input;
      const exhausted = () => new ContentionError('The job slots kept changing while a job was being reserved');
      return retrying(afterConflict, exhausted, async () => {
        const now = clock.now();
        const seconds = nowSeconds();
        const { Item } = await dynamo.send(
          new GetCommand({ TableName: table, Key: activeKey(userId), ConsistentRead: true }),
        );
        const live = Object.entries((Item?.slots ?? {}) as Record<string, number>).filter(
          ([, expires]) => expires > seconds,
        );
        if (live.length >= config.quotas.concurrentJobs) {
          throw new QuotaExceededError('concurrent', Math.max(1, Math.min(...live.map(([, e]) => e)) - seconds));
        }
        const version = (Item?.version as number | undefined) ?? 0;
        const day = now.toISOString().slice(0, 10);
        const item = {
          ...jobKey(userId, jobId),
          entity: 'job',
          job_id: jobId,
          user_id: userId,
          type: input.type,
          status: 'awaiting_upload',
          content_type: input.contentType,
          document_type: input.documentType,
          created_at: now.toISOString(),
          updated_at: now.toISOString(),
          ttl: seconds + JOB_TTL_SECONDS,
        };
        const slotExpires = seconds + (input.streamed ? streamSlotSeconds : slotSeconds);
        // No job for an account being deleted (`live-profile.ts`).
        const cancelled = await transactWhileLive(dynamo, table, userId, {
          slots: {
            Put: {
              TableName: table,
              Item: {
                ...activeKey(userId),
                slots: Object.fromEntries([...live, [jobId, slotExpires]]),
                version: version + 1,
                ttl: seconds + 2 * 86400,
              },
              // Optimistic: another request that changed the slots since our read wins, we retry.
              ConditionExpression: 'attribute_not_exists(version) OR version = :version',
              ExpressionAttributeValues: { ':version': version },
            },
          },
          job: input.streamed
            ? undefined
            : { Put: { TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
          daily: {
            Update: {
              TableName: table,
              Key: dailyKey(userId, day),
              UpdateExpression: 'ADD #counter :one SET #ttl = if_not_exists(#ttl, :ttl)',
              ConditionExpression: 'attribute_not_exists(#counter) OR #counter < :limit',
              ExpressionAttributeNames: { '#ttl': 'ttl', '#counter': input.daily.counter },
              ExpressionAttributeValues: { ':one': 1, ':limit': input.daily.limit, ':ttl': seconds + 2 * 86400 },
            },
          },
        });
        if (!cancelled) return toJob(item);
        const { reasons } = cancelled;
        if (reasons.daily === 'ConditionalCheckFailed') {
          const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) / 1000;
          throw new QuotaExceededError('daily', Math.max(1, Math.ceil(midnight - seconds)));
        }
        // Lost to another write of the same items (the slots' version, or any item's transaction
        // conflict): read again and retry a few times, then the client retries (409).
        if (reasons.slots === 'ConditionalCheckFailed' || Object.values(reasons).includes('TransactionConflict'))
          return again;
        throw cancelled.error;
      });
    },

    /** Frees a streamed answer's slot when the stream ends or its client goes. */
    releaseSlot: release,

    async get(userId: string, jobId: string): Promise<Job | undefined> {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table, Key: jobKey(userId, jobId), ConsistentRead: true }),
      );
      return this.fromItem(Item);
    },

    /** A job item as read (with the session, in one round trip), or undefined for anything else. */
    fromItem(item: Record<string, unknown> | undefined): Job | undefined {
      return item?.entity === 'job' ? toJob(item) : undefined;
    },

    /** `awaiting_upload → processing`, once: a duplicated or redelivered upload event gets `undefined`. */
    async claim(userId: string, jobId: string): Promise<Job | undefined> {
      const now = clock.now().toISOString();
      const update = new UpdateCommand({
        TableName: table,
        Key: jobKey(userId, jobId),
        ConditionExpression: '#status = :awaiting',
        UpdateExpression: 'SET #status = :processing, started_at = :now, updated_at = :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':awaiting': 'awaiting_upload', ':processing': 'processing', ':now': now },
        ReturnValues: 'ALL_NEW',
      });
      const claimed = await unlessConditionFails(dynamo.send(update), undefined);
      return claimed?.Attributes && toJob(claimed.Attributes);
    },

    complete(userId: string, jobId: string, usage: Usage) {
      return finish(
        userId,
        jobId,
        {
          status: 'completed',
          updated_at: clock.now().toISOString(),
          usage: { model_id: usage.modelId, input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
        },
        ['processing'],
      );
    },

    fail(userId: string, jobId: string, error: JobError) {
      return finish(userId, jobId, { status: 'failed', updated_at: clock.now().toISOString(), error }, [
        'processing',
        'awaiting_upload',
      ]);
    },

    /**
     * Cleans the job up: its record becomes a tombstone of ids, status and times until its TTL, so
     * a repeated cleanup is still a success while an unknown (or another user's) id stays a 404.
     * A job still processing keeps its slot: the model call goes on, and the worker frees the slot
     * when it ends. Returns false when the caller has no such job.
     */
    async remove(userId: string, jobId: string): Promise<boolean> {
      const update = new UpdateCommand({
        TableName: table,
        Key: jobKey(userId, jobId),
        ConditionExpression: 'attribute_exists(PK)',
        UpdateExpression:
          'SET #status = :cleaned, updated_at = :now REMOVE #error, #usage, #type, content_type, document_type',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#usage': 'usage', '#type': 'type' },
        ExpressionAttributeValues: { ':cleaned': 'cleaned_up', ':now': clock.now().toISOString() },
        ReturnValues: 'ALL_OLD',
      });
      const removed = await unlessConditionFails(dynamo.send(update), undefined);
      if (!removed) return false;
      if (removed.Attributes?.status !== 'processing') await release(userId, jobId);
      return true;
    },

    /** The job as the app sees it: a job silent past its deadline has failed, so none stays stuck. */
    view(job: Job): Job {
      const age = (since: string) => (clock.now().getTime() - Date.parse(since)) / 1000;
      if (
        job.status === 'processing' &&
        age(job.startedAt ?? job.createdAt) > config.workerTimeoutSeconds + MARGIN_SECONDS
      ) {
        return {
          ...job,
          status: 'failed',
          error: {
            code: 'PROCESSING_TIMEOUT',
            message: 'Processing took too long; start a new upload',
            retryable: true,
          },
        };
      }
      if (job.status === 'awaiting_upload' && age(job.createdAt) > slotSeconds) {
        return {
          ...job,
          status: 'failed',
          error: { code: 'UPLOAD_TIMEOUT', message: 'No upload arrived in time; start a new upload', retryable: true },
        };
      }
      return job;
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
