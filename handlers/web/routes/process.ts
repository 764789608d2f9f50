import { createRoute, z } from '@hono/zod-openapi';
import { documentContentTypes } from '../../domain/jobs/document-types';
import { Usage } from '../../domain/jobs/job';
import { DoctorReportInput, DocumentResult, DoctorReportResult } from '../../domain/jobs/job-schemas';
import type { Services } from '../../services/services';
import { createRouter } from '../router';
import { Accepted, JobParams, jobReads, JobStatus, statusOf } from './job-answers';
import { errorResponses, jsonBody, jsonResponse, withOpenApi } from './schemas';
import type { Guard } from '../guard';

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

const ResultResponse = z
  .object({
    jobId: z.uuid(),
    type: z.string(),
    result: z.union([
      withOpenApi(DocumentResult, 'DocumentResult'),
      withOpenApi(DoctorReportResult, 'DoctorReportResult'),
    ]),
    usage: Usage,
  })
  .openapi('JobResult');

type Responses = Parameters<typeof createRoute>[0]['responses'];
const jobRouteOf =
  ({ secured, securedReading }: Guard) =>
  <M extends 'get' | 'delete'>(method: M, path: string, summary: string, ok: Responses) =>
    createRoute(
      method === 'get'
        ? securedReading(
            { method, path, tags: ['Processing'], summary, request: { params: JobParams }, responses: ok },
            jobReads,
          )
        : secured({ method, path, tags: ['Processing'], summary, request: { params: JobParams }, responses: ok }),
    );

const routesOf = (guard: Guard) => {
  const { securedIdempotent } = guard;
  const jobRoute = jobRouteOf(guard);
  return {
    upload: createRoute(
      securedIdempotent({
        method: 'post',
        path: '/upload',
        tags: ['Processing'],
        summary: 'Start a document job and get a presigned S3 POST for the file',
        request: { body: jsonBody(UploadRequest) },
        responses: {
          201: jsonResponse('Job created; POST the file to upload.url with upload.fields', UploadResponse),
          ...errorResponses(400, 401, 413, 415, 421, 429),
        },
      }),
    ),
    status: jobRoute('get', '/status/{jobId}', "A job's status", {
      200: jsonResponse('Status', JobStatus),
      ...errorResponses(400, 401, 404, 421),
    }),
    result: jobRoute('get', '/result/{jobId}', "A completed job's result", {
      200: jsonResponse('Result', ResultResponse),
      ...errorResponses(400, 401, 404, 409, 421),
    }),
    cleanup: jobRoute('delete', '/cleanup/{jobId}', "Delete a job's objects and its record", {
      204: { description: 'Gone (also when already cleaned up)' },
      ...errorResponses(400, 401, 404, 421),
    }),
    doctorReport: createRoute(
      securedIdempotent({
        method: 'post',
        path: '/doctor-report',
        tags: ['Processing'],
        summary: 'Premium: a report on the health history the app keeps',
        request: { body: jsonBody(withOpenApi(DoctorReportInput, 'DoctorReportRequest')) },
        responses: {
          202: jsonResponse('Accepted; follow the job with status and result', Accepted),
          ...errorResponses(400, 401, 403, 413, 415, 421, 429),
        },
      }),
    ),
  };
};

export function processRoutes(p: Services, guard: Guard) {
  const routes = routesOf(guard);
  const router = createRouter();
  return router
    .openapi(routes.upload, async (c) => {
      const { userId } = c.get('auth');
      // A replay (same Idempotency-Key and body) presigns the first answer's job again.
      const first = c.get('idempotentAnswer');
      const answer = first
        ? await p.jobs.uploadAgain(userId, first.jobId, c.req.valid('json'))
        : await p.jobs.startUpload(userId, c.get('prefetched').profile, c.req.valid('json'));
      c.set('idempotentAnswer', { jobId: answer.jobId });
      return c.json(answer, 201);
    })
    .openapi(routes.status, async (c) => c.json(statusOf(p.jobs.own(c.get('prefetched').job)), 200))
    .openapi(routes.result, async (c) => {
      const job = p.jobs.own(c.get('prefetched').job);
      const { type, result, usage } = await p.jobs.result(job);
      return c.json({ jobId: job.jobId, type, result, usage }, 200);
    })
    .openapi(routes.cleanup, async (c) => {
      await p.jobs.cleanup(c.get('auth').userId, c.req.valid('param').jobId);
      return c.body(null, 204);
    })
    .openapi(routes.doctorReport, async (c) => {
      const job = await p.jobs.submit(
        c.get('auth').userId,
        c.get('prefetched').profile,
        'doctor_report',
        c.req.valid('json'),
      );
      return c.json({ jobId: job.jobId }, 202);
    });
}
