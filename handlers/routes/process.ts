import { createRoute, z } from '@hono/zod-openapi';
import { ApiError, notFound } from '../errors';
import { documentContentTypes, documentTypes, isDocumentContentType } from '../jobs/document-types';
import { jobObjectKeys } from '../jobs/job-objects';
import type { Platform } from '../platform';
import { DoctorReportInput } from '../processing/converse-request';
import { DocumentResult, DoctorReportResult } from '../processing/result-schemas';
import { createRouter } from '../router';
import { Accepted, JobParams, jobReads, JobStatus, ownJob, resultOf, startJob, statusOf, submitRequest } from './jobs';
import { errorResponses, jsonBody, jsonResponse, secured, securedIdempotent, securedReading } from './schemas';

const UploadRequest = z
  .strictObject({
    // Any string here, so an unsupported type gets its own 415 rather than a schema 400.
    contentType: z.string().min(1).max(100).openapi({ enum: documentContentTypes }),
    contentLength: z.number().int().positive(),
    documentType: z.enum(['lab_results', 'vitals', 'other']).optional(),
  })
  .openapi('UploadRequest');

const UploadResponse = z
  .object({
    jobId: z.uuid(),
    upload: z.object({
      method: z.literal('POST'),
      url: z.string().url(),
      fields: z.record(z.string(), z.string()),
      maxBytes: z.number().int(),
      expiresAt: z.string(),
    }),
  })
  .openapi('UploadResponse');

const Usage = z.object({ modelId: z.string(), inputTokens: z.number().int(), outputTokens: z.number().int() });
const ResultResponse = z
  .object({ jobId: z.uuid(), type: z.string(), result: z.union([DocumentResult, DoctorReportResult]), usage: Usage })
  .openapi('JobResult');

const jobRoute = <M extends 'get' | 'delete'>(method: M, path: string, summary: string, ok: Parameters<typeof createRoute>[0]['responses']) =>
  createRoute(
    method === 'get'
      ? securedReading({ method, path, tags: ['Processing'], summary, request: { params: JobParams }, responses: ok }, jobReads)
      : secured({ method, path, tags: ['Processing'], summary, request: { params: JobParams }, responses: ok }),
  );

const routes = {
  upload: createRoute(securedIdempotent({
    method: 'post',
    path: '/api/v1/process/upload',
    tags: ['Processing'],
    summary: 'Start a document job and get a presigned S3 POST for the file',
    request: { body: jsonBody(UploadRequest) },
    responses: { 201: jsonResponse('Job created; POST the file to upload.url with upload.fields', UploadResponse), ...errorResponses(400, 401, 413, 415, 421, 429) },
  })),
  status: jobRoute('get', '/api/v1/process/status/{jobId}', "A job's status", { 200: jsonResponse('Status', JobStatus), ...errorResponses(400, 401, 404, 421) }),
  result: jobRoute('get', '/api/v1/process/result/{jobId}', "A completed job's result", {
    200: jsonResponse('Result', ResultResponse),
    ...errorResponses(400, 401, 404, 409, 421),
  }),
  cleanup: jobRoute('delete', '/api/v1/process/cleanup/{jobId}', "Delete a job's objects and its record", {
    204: { description: 'Gone (also when already cleaned up)' },
    ...errorResponses(400, 401, 404, 421),
  }),
  doctorReport: createRoute(securedIdempotent({
    method: 'post',
    path: '/api/v1/process/doctor-report',
    tags: ['Processing'],
    summary: 'Premium: a report on the health history the app keeps',
    request: { body: jsonBody(DoctorReportInput.openapi('DoctorReportRequest')) },
    responses: { 202: jsonResponse('Accepted; follow the job with status and result', Accepted), ...errorResponses(400, 401, 403, 413, 415, 421, 429) },
  })),
};

export function processRoutes(p: Platform) {
  const router = createRouter();
  return router
    .openapi(routes.upload, async (c) => {
      const { contentType, contentLength, documentType } = c.req.valid('json');
      if (!isDocumentContentType(contentType)) {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Upload one of ${documentContentTypes.join(', ')}`);
      }
      const { maxBytes } = documentTypes[contentType];
      if (contentLength > maxBytes) throw new ApiError(413, 'DOCUMENT_TOO_LARGE', `A ${contentType} file may be at most ${maxBytes} bytes`);
      const { userId } = c.get('auth');
      const job = await startJob(p, userId, { type: 'document', contentType, documentType });
      const expiresIn = p.config.uploadWindowSeconds;
      // S3 enforces the key, the type and the size range; the worker checks the bytes themselves.
      // Presigned POST and S3 load here, on the first upload, not at every cold start.
      const [{ createPresignedPost }, s3] = await Promise.all([import('@aws-sdk/s3-presigned-post'), p.s3()]);
      const { url, fields } = await createPresignedPost(s3, {
        Bucket: p.config.tempBucket,
        Key: jobObjectKeys(userId, job.jobId).input,
        Conditions: [['content-length-range', 1, maxBytes], ['eq', '$Content-Type', contentType]],
        Fields: { 'Content-Type': contentType },
        Expires: expiresIn,
      });
      const expiresAt = new Date(p.clock.now().getTime() + expiresIn * 1000).toISOString();
      return c.json({ jobId: job.jobId, upload: { method: 'POST' as const, url, fields, maxBytes, expiresAt } }, 201);
    })
    .openapi(routes.status, async (c) => c.json(statusOf(ownJob(p, c.get('prefetched')[0])), 200))
    .openapi(routes.result, async (c) => {
      const job = ownJob(p, c.get('prefetched')[0]);
      const stored = await resultOf<{ type: string; result: never; usage: z.infer<typeof Usage> }>(p, job);
      return c.json({ jobId: job.jobId, type: stored.type, result: stored.result, usage: stored.usage }, 200);
    })
    .openapi(routes.cleanup, async (c) => {
      const { userId } = c.get('auth');
      const { jobId } = c.req.valid('param');
      // Only the caller's own prefix is touched: another user's job id finds nothing here.
      await p.objects.remove(userId, jobId);
      if (!(await p.jobs.remove(userId, jobId))) throw notFound('The job');
      return c.body(null, 204);
    })
    .openapi(routes.doctorReport, async (c) => {
      const job = await startJob(p, c.get('auth').userId, { type: 'doctor_report', contentType: 'application/json', premiumOnly: true });
      await submitRequest(p, job, c.req.valid('json'));
      return c.json({ jobId: job.jobId }, 202);
    });
}
