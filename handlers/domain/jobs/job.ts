import { z } from 'zod';

/** A document job, as the job service, its store and its model share it: ids, state and usage, never content. */

export const jobTypes = ['document', 'chat', 'doctor_report'] as const;
export type JobType = (typeof jobTypes)[number];

/** The states the app sees in a job's status; a cleaned-up job is gone for it (404). */
export const jobStatuses = ['awaiting_upload', 'processing', 'completed', 'failed'] as const;
export type JobStatus = (typeof jobStatuses)[number] | 'cleaned_up';

/** Why a job failed, as the app reads it in the job's status. */
export const JobError = z.object({ code: z.string(), message: z.string(), retryable: z.boolean() });
export type JobError = z.infer<typeof JobError>;

/** What a model call cost, in tokens. */
export const Usage = z.object({ modelId: z.string(), inputTokens: z.number().int(), outputTokens: z.number().int() });
export type Usage = z.infer<typeof Usage>;

/** A job as stored: type, status, times, error and usage — never content. */
export interface Job {
  jobId: string;
  userId: string;
  type: JobType;
  status: JobStatus;
  contentType: string;
  documentType?: string;
  error?: JobError;
  usage?: Usage;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
}

/** A job failure with the code, message and retry advice the app sees in the job's status. */
export class JobFailure extends Error {
  override name = 'JobFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * The model a job runs on: the job and its checked input in, the validated result and the tokens
 * it cost out. It throws a `JobFailure` for what the app should read (a busy or refusing model);
 * anything else fails the job as `PROCESSING_FAILED`. Bedrock in AWS and offline
 * (`processing/bedrock-model.ts`); the job service never knows which.
 */
export type Model = (job: Job, input: Uint8Array) => Promise<{ result: unknown; usage: Usage }>;
