import { z } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { accountGone, ApiError, notFound } from '../errors';
import { jobKey, QuotaExceededError, type DailyCounter, type Job } from '../jobs/job-store';
import type { Reads } from '../middleware/authenticate';
import { AccountClosedError } from '../users/live-profile';
import type { Platform } from '../platform';
import { jobTypes, type JobType } from '../processing/result-schemas';
import type { Subscription } from '../users/user-repository';

/** Route helpers shared by the processing and chat routes. */

/** Job routes take the id from the path; a malformed one is a 400, someone else's a 404. */
export const JobParams = z.object({ jobId: z.uuid().openapi({ param: { name: 'jobId', in: 'path' } }) });

export const JobStatus = z
  .object({
    jobId: z.uuid(),
    type: z.enum(jobTypes),
    status: z.enum(['awaiting_upload', 'processing', 'completed', 'failed']),
    error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('JobStatus');

export const Accepted = z.object({ jobId: z.uuid() }).openapi('JobAccepted');

/**
 * The job a route read with the session (`jobReads`, one round trip), as the app sees it
 * (timeouts applied), or 404: the key is under the caller's own user, so other users' jobs do
 * not exist.
 */
export function ownJob(p: Platform, item: Record<string, unknown> | undefined, type?: Job['type']): Job {
  const job = p.jobs.fromItem(item);
  if (!job || job.status === 'cleaned_up' || (type && job.type !== type)) throw notFound('The job');
  return p.jobs.view(job);
}

/** The job item of the path's job id, read with the session; a malformed id reads nothing (the route answers 400). */
export const jobReads: Reads = (c, auth) => {
  const jobId = c.req.param('jobId') ?? '';
  return JobParams.safeParse({ jobId }).success ? [jobKey(auth.userId, jobId)] : [];
};

export function statusOf(job: Job) {
  return {
    jobId: job.jobId,
    type: job.type,
    status: job.status as Exclude<Job['status'], 'cleaned_up'>,
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}

/** A completed job's stored result; 409 while it is not there yet. */
export async function resultOf<T>(p: Platform, job: Job): Promise<T> {
  if (job.status === 'failed') {
    throw new ApiError(409, 'JOB_FAILED', 'The job failed and has no result; see its status for why', { retryable: false });
  }
  if (job.status !== 'completed') {
    throw new ApiError(409, 'NOT_READY', 'The result is not ready yet; poll the status and try again', { retryable: true });
  }
  const stored = await p.objects.getResult<T>(job.userId, job.jobId);
  if (!stored) throw notFound('The result');
  return stored;
}

/** 429 with the seconds after which a retry can succeed. */
function quotaError(limit: 'concurrent' | 'daily', retryAfterSeconds: number) {
  return new ApiError(
    429,
    'QUOTA_EXCEEDED',
    limit === 'concurrent'
      ? 'Too many jobs are in progress; wait for one to finish'
      : "Today's limit for this kind of request is reached; try again tomorrow",
    { retryable: true, headers: { 'retry-after': String(retryAfterSeconds) } },
  );
}

const dailyCounters: Record<JobType, DailyCounter> = { document: 'documents', chat: 'chat_messages', doctor_report: 'doctor_reports' };

/** Premium until it expires: a cancelled subscription keeps its benefits to the end of the period. */
const isPremium = (s: Subscription | undefined) => s?.type === 'premium' && (s.status === 'active' || s.status === 'cancelled');

/**
 * Creates the caller's job within their quotas (every kind counts against the plan's daily cap for
 * that kind, so every model call is bounded); `premiumOnly` jobs are refused to other plans from
 * the same read of the subscription.
 */
export async function startJob(
  p: Platform,
  userId: string,
  input: { type: JobType; contentType: string; documentType?: string; premiumOnly?: boolean },
): Promise<Job> {
  const subscription = await p.users.subscription(userId);
  if (!subscription) throw accountGone();
  if (input.premiumOnly && !isPremium(subscription)) {
    throw new ApiError(403, 'PREMIUM_REQUIRED', 'Doctor reports are a premium feature; upgrade to use them');
  }
  const plan = isPremium(subscription) ? 'premium' : 'free';
  try {
    return await p.jobs.reserve({
      userId,
      jobId: randomUUID(),
      type: input.type,
      contentType: input.contentType,
      documentType: input.documentType,
      daily: { counter: dailyCounters[input.type], limit: p.config.quotas.daily[input.type][plan] },
    });
  } catch (err) {
    if (err instanceof QuotaExceededError) throw quotaError(err.limit, err.retryAfterSeconds);
    if (err instanceof AccountClosedError) throw accountGone();
    throw err;
  }
}

/** Chat and report requests become the job's input object, so every job takes the worker's path. */
export async function submitRequest(p: Platform, job: Job, request: unknown): Promise<void> {
  try {
    await p.objects.putInput(job.userId, job.jobId, JSON.stringify(request));
  } catch (err) {
    await p.jobs.fail(job.userId, job.jobId, { code: 'SUBMIT_FAILED', message: 'The request could not be queued; send it again', retryable: true });
    throw err;
  }
}
