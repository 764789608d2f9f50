import type { Context } from 'hono';
import type { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import type { ErrorCode } from '../core/errors';

/**
 * An answer the API means to give, in the `API.md` error body. Its message is written for
 * the app developer and never carries request content, internal names or stack traces.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly options: { retryable?: boolean; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The error body of `API.md`; the request id is the one `request-context` set. */
export function errorResponse<E extends { Variables: { requestId: string } }>(c: Context<E>, err: ApiError) {
  const { retryable = false, extra = {}, headers = {} } = err.options;
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return c.json(
    { error: { code: err.code, message: err.message, retryable, requestId: c.get('requestId') }, ...extra },
    err.status,
  );
}

/**
 * Names the fields that failed and why, from the schema's own words. Unknown keys are not
 * echoed: a key name is request content too.
 */
export function validationError(error: ZodError, target: string): ApiError {
  const problems = error.issues.slice(0, 10).map((issue) => {
    const where = [target, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') return `${where} has fields the API does not accept`;
    if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `${where} is required`;
    return `${where}: ${issue.message.replace(/^Invalid input: /, '')}`;
  });
  return new ApiError(400, 'VALIDATION_ERROR', `Fix the request and send it again: ${problems.join('; ')}`);
}

/** Hono's own exceptions (malformed JSON, wrong media type) in the API's words. */
export function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      return new ApiError(400, 'MALFORMED_JSON', 'The body is not valid JSON; send a JSON object');
    case 413:
      return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The body is larger than 256 KiB');
    case 415:
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    default:
      return new ApiError(err.status as ContentfulStatusCode, 'REQUEST_REJECTED', 'The request was rejected');
  }
}
