import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { randomUUID } from 'node:crypto';
import { platformMetrics } from '../../../contract';
import type { Clock } from '../../core/clock';
import type { AppConfig } from '../../core/config';
import { AccountClosedError } from '../users/live-profile';
import { documentContentTypes, documentTypes, isDocumentContentType, matchesDeclaredType } from './document-types';
import { JobFailure, type Job, type JobType, type Model, type Usage } from './job';
import {
  DocumentTooLargeError,
  JobFailedError,
  JobNotFoundError,
  PremiumRequiredError,
  ResultNotReadyError,
  UnsupportedDocumentTypeError,
} from './job-errors';
import type { JobObjects } from './job-objects';
import { StoredResult } from './job-schemas';
import type { DailyCounter, JobStore } from './job-store';

export interface JobServiceDeps {
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  store: JobStore;
  objects: JobObjects;
  /** The plan of a profile item (read with the session); undefined when the account is gone. */
  planOf: (profile: Record<string, unknown> | undefined) => { type: string; status: string } | undefined;
}

/** Every kind of job counts against the plan's daily cap for that kind: every model call is bounded. */
const dailyCounters: Record<JobType, DailyCounter> = {
  document: 'documents',
  chat: 'chat_messages',
  doctor_report: 'doctor_reports',
};
const premiumOnly: Record<JobType, boolean> = { document: false, chat: false, doctor_report: true };

/** Premium until it expires: a cancelled subscription keeps its benefits to the end of the period. */
const isPremium = (plan: { type: string; status: string }) =>
  plan.type === 'premium' && (plan.status === 'active' || plan.status === 'cancelled');

/** Requests the server itself wrote (chat, report) are bounded by the API's body cap. */
const MAX_REQUEST_BYTES = 256 * 1024;

/** The input must be what was declared, and within its limit; an empty or disguised file fails the job. */
function checkInput(job: Job, input: Uint8Array | undefined): Uint8Array {
  if (!input || input.length === 0)
    throw new JobFailure('INVALID_DOCUMENT', 'The upload was empty; upload the file again', false);
  if (job.type !== 'document') {
    if (input.length > MAX_REQUEST_BYTES) throw new JobFailure('INVALID_REQUEST', 'The request was too large', false);
    return input;
  }
  if (!isDocumentContentType(job.contentType))
    throw new JobFailure('INVALID_DOCUMENT', 'This type of file is not supported', false);
  const { maxBytes } = documentTypes[job.contentType];
  if (input.length > maxBytes)
    throw new JobFailure('INVALID_DOCUMENT', `The file is larger than ${maxBytes} bytes`, false);
  if (!matchesDeclaredType(input, job.contentType)) {
    throw new JobFailure(
      'INVALID_DOCUMENT',
      `The file is not a valid ${job.contentType} file; upload the original document`,
      false,
    );
  }
  return input;
}

/**
 * A job's whole life, in one place: started within the caller's plan and quotas, its input
 * presigned or written, claimed once by the worker, run on the model it is given, finished,
 * viewed, its result read back with its schema, and cleaned up. Routes and the upload worker are
 * thin adapters over it. Ids, sizes, durations and codes are logged — never content.
 */
export function createJobService(deps: JobServiceDeps) {
  const { config, clock, logger, metrics, store, objects } = deps;

  async function start(
    userId: string,
    profile: Record<string, unknown> | undefined,
    type: JobType,
    input: { contentType: string; documentType?: string; streamed?: boolean },
  ): Promise<Job> {
    const plan = deps.planOf(profile);
    if (!plan) throw new AccountClosedError();
    if (premiumOnly[type] && !isPremium(plan)) throw new PremiumRequiredError();
    // Rejects with `QuotaExceededError` or `AccountClosedError`: each is its own answer.
    return store.reserve({
      userId,
      jobId: randomUUID(),
      type,
      ...input,
      daily: { counter: dailyCounters[type], limit: config.quotas.daily[type][isPremium(plan) ? 'premium' : 'free'] },
    });
  }

  function recordUsage(type: JobType, usage: Usage) {
    const cost = (usage.inputTokens * config.pricing.input + usage.outputTokens * config.pricing.output) / 1e6;
    metrics.addDimensions({ model: usage.modelId, jobType: type });
    metrics.addMetric(platformMetrics.inputTokens, MetricUnit.Count, usage.inputTokens);
    metrics.addMetric(platformMetrics.outputTokens, MetricUnit.Count, usage.outputTokens);
    metrics.addMetric(platformMetrics.estimatedCost, MetricUnit.NoUnit, cost);
    metrics.publishStoredMetrics();
    // Once more without model and type, so one alarm watches the zone's whole spend.
    metrics.addMetric(platformMetrics.estimatedCost, MetricUnit.NoUnit, cost);
    metrics.publishStoredMetrics();
  }

  /** A type we read (or 415), declared within its size limit (or 413). */
  function checkUpload({ contentType, contentLength }: { contentType: string; contentLength: number }) {
    if (!isDocumentContentType(contentType)) throw new UnsupportedDocumentTypeError(documentContentTypes);
    const { maxBytes } = documentTypes[contentType];
    if (contentLength > maxBytes) throw new DocumentTooLargeError(contentType, maxBytes);
  }

  /** A presigned POST that takes the declared length exactly. */
  async function presignUpload(userId: string, jobId: string, upload: { contentType: string; contentLength: number }) {
    const { contentType, contentLength } = upload;
    const expiresIn = config.uploadWindowSeconds;
    const { url, fields } = await objects.presignInput(userId, jobId, { contentType, contentLength, expiresIn });
    const expiresAt = new Date(clock.now().getTime() + expiresIn * 1000).toISOString();
    // The POST takes the declared length and nothing else: that is the most it accepts.
    return { method: 'POST' as const, url, fields, maxBytes: contentLength, expiresAt };
  }

  return {
    /**
     * A document job and the presigned POST its file goes to: 415 for a type we do not read, 413
     * over its limit. `profile` is the caller's profile item, read with the session: their plan.
     */
    async startUpload(
      userId: string,
      profile: Record<string, unknown> | undefined,
      upload: { contentType: string; contentLength: number; documentType?: string },
    ) {
      const { contentType, contentLength, documentType } = upload;
      checkUpload(upload);
      const job = await start(userId, profile, 'document', { contentType, documentType });
      return { jobId: job.jobId, upload: await presignUpload(userId, job.jobId, { contentType, contentLength }) };
    },

    /**
     * The same job's upload, presigned afresh: a replayed upload request (the first one's body,
     * checked then) answers this way, since presigned fields expire and carry the caller's session
     * token (they are never kept).
     */
    async uploadAgain(userId: string, jobId: string, upload: { contentType: string; contentLength: number }) {
      return { jobId, upload: await presignUpload(userId, jobId, upload) };
    },

    /**
     * A streamed chat answer's reservation: within the same plan, concurrency limit and daily cap
     * as a chat job, counted in the same transaction, but with no job item and no input object.
     * `release` frees its slot (the stream ended or its client went).
     */
    async reserveStream(userId: string, profile: Record<string, unknown> | undefined) {
      const { jobId } = await start(userId, profile, 'chat', { contentType: 'application/json', streamed: true });
      return { id: jobId, release: () => store.releaseSlot(userId, jobId) };
    },

    /** A model call's tokens and estimated cost, as metrics (a streamed answer records its own). */
    recordUsage,

    /** A chat or report request becomes the job's input object, so every job takes the worker's path. */
    async submit(
      userId: string,
      profile: Record<string, unknown> | undefined,
      type: Exclude<JobType, 'document'>,
      request: unknown,
    ): Promise<Job> {
      const job = await start(userId, profile, type, { contentType: 'application/json' });
      try {
        await objects.putInput(userId, job.jobId, JSON.stringify(request));
      } catch (err) {
        await store.fail(userId, job.jobId, {
          code: 'SUBMIT_FAILED',
          message: 'The request could not be queued; send it again',
          retryable: true,
        });
        throw err;
      }
      return job;
    },

    /**
     * The caller's job from its item (read with the session, in one round trip), as the app sees
     * it — a job silent past its deadline has failed — or 404: the key is under the caller's own
     * user, so other users' jobs do not exist.
     */
    own(item: Record<string, unknown> | undefined, type?: JobType): Job {
      const job = store.fromItem(item);
      if (!job || job.status === 'cleaned_up' || (type && job.type !== type)) throw new JobNotFoundError();
      return store.view(job);
    },

    /** A completed job's stored result, read with its schema; 409 while there is none. */
    async result(job: Job): Promise<StoredResult> {
      if (job.status === 'failed') throw new JobFailedError();
      if (job.status !== 'completed') throw new ResultNotReadyError();
      const bytes = await objects.getResult(job.userId, job.jobId);
      if (!bytes) throw new JobNotFoundError('result');
      return StoredResult.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    },

    /** Deletes the job's objects and turns its record into a tombstone; 404 when the caller has no such job. */
    async cleanup(userId: string, jobId: string): Promise<void> {
      // Only the caller's own prefix is touched: another user's job id finds nothing here.
      await objects.remove(userId, jobId);
      if (!(await store.remove(userId, jobId))) throw new JobNotFoundError();
    },

    /**
     * The worker's part, on the upload of `jobs/<userId>/<jobId>/input`: claims the job once, checks
     * the file, runs the model, writes the result beside the input, deletes the input whatever
     * happened, and records the outcome.
     */
    async process({ userId, jobId }: { userId: string; jobId: string }, model: Model): Promise<void> {
      const job = await store.claim(userId, jobId);
      if (!job) {
        // A duplicate event, a second upload with a still-valid presigned POST after the job ended,
        // or a job cleaned up or deleted: the input must not wait for the lifecycle rule. Only a job
        // still processing keeps it (its own worker reads it).
        const existing = await store.get(userId, jobId);
        if (existing?.status !== 'processing') await objects.remove(userId, jobId, ['input']);
        logger.info('job not claimed', { jobId, userId, reason: existing ? `job ${existing.status}` : 'no such job' });
        return;
      }
      const started = clock.now().getTime();
      let usage: Usage | undefined;
      let failure: JobFailure | undefined;
      let sizeBytes = 0;
      try {
        const input = checkInput(job, await objects.getInput(userId, jobId));
        sizeBytes = input.length;
        const answer = await model(job, input);
        usage = answer.usage;
        await objects.putResult(userId, jobId, { type: job.type, result: answer.result, usage });
      } catch (err) {
        failure =
          err instanceof JobFailure ? err : new JobFailure('PROCESSING_FAILED', 'Processing failed; try again', true);
      } finally {
        await objects.remove(userId, jobId, ['input']);
      }
      if (usage && !failure) {
        // Cleaned up while the model was working: the result must not outlive the job.
        if (!(await store.complete(userId, jobId, usage))) await objects.remove(userId, jobId, ['result']);
        recordUsage(job.type, usage);
      } else {
        await store.fail(userId, jobId, {
          code: failure!.code,
          message: failure!.message,
          retryable: failure!.retryable,
        });
      }
      logger.info('job finished', {
        jobId,
        userId,
        type: job.type,
        status: failure ? 'failed' : 'completed',
        code: failure?.code,
        sizeBytes,
        durationMs: clock.now().getTime() - started,
        inputTokens: usage?.inputTokens,
        outputTokens: usage?.outputTokens,
      });
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
