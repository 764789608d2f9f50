import { z } from '@hono/zod-openapi';
import { itemKeys } from '../../../contract';
import { JobError, jobStatuses, jobTypes, type Job } from '../../domain/jobs/job';
import type { Reads } from '../middleware/authenticate';

/** The schemas the processing and chat routes share, and the job read that comes with the session. */

/** Job routes take the id from the path; a malformed one is a 400, someone else's a 404. */
export const JobParams = z.object({ jobId: z.uuid().openapi({ param: { name: 'jobId', in: 'path' } }) });

export const JobStatus = z
  .object({
    jobId: z.uuid(),
    type: z.enum(jobTypes),
    status: z.enum(jobStatuses),
    error: JobError.optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('JobStatus');

export const Accepted = z.object({ jobId: z.uuid() }).openapi('JobAccepted');

/** The job item of the path's job id, read with the session; a malformed id reads nothing (the route answers 400). */
export const jobReads: Reads = (c, auth) => {
  const jobId = c.req.param('jobId') ?? '';
  return JobParams.safeParse({ jobId }).success ? { job: itemKeys.job(auth.userId, jobId) } : {};
};

/** A job as its status route answers it. */
export function statusOf(job: Job): z.infer<typeof JobStatus> {
  return {
    jobId: job.jobId,
    type: job.type,
    status: job.status as Exclude<Job['status'], 'cleaned_up'>,
    ...(job.error ? { error: job.error } : {}),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}
