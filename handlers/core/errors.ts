import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';

/**
 * Every `error.code` the API answers, by the status it comes with: the one list an `ApiError` may
 * use (a new code is added here first), and that the OpenAPI document's enum and examples can read.
 */
export const errorCodes = {
  400: ['VALIDATION_ERROR', 'MALFORMED_JSON', 'INVALID_NOTIFICATION', 'REQUEST_REJECTED'],
  401: [
    'UNAUTHENTICATED',
    'INVALID_TOKEN',
    'TOKEN_EXPIRED',
    'SESSION_ENDED',
    'SESSION_EXPIRED',
    'TOKEN_REUSED',
    'INVALID_REFRESH_TOKEN',
    'INVALID_ID_TOKEN',
    'INVALID_AUTHORIZATION_CODE',
    'WEBHOOK_UNVERIFIED',
  ],
  403: ['PREMIUM_REQUIRED'],
  404: ['NOT_FOUND', 'USER_NOT_FOUND'],
  409: ['USER_EXISTS', 'NOT_READY', 'JOB_FAILED', 'REQUEST_IN_PROGRESS', 'TRY_AGAIN'],
  413: ['PAYLOAD_TOO_LARGE', 'DOCUMENT_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  421: ['WRONG_ZONE'],
  422: ['IDEMPOTENCY_KEY_REUSED'],
  429: ['QUOTA_EXCEEDED'],
  500: ['INTERNAL'],
  503: ['IDENTITY_PROVIDER_UNAVAILABLE', 'STORE_UNAVAILABLE', 'ZONE_UNAVAILABLE'],
} as const;

export type ErrorCode = (typeof errorCodes)[keyof typeof errorCodes][number];

/** Every code once, for a schema's enum (`z.enum(allErrorCodes)`). */
export const allErrorCodes = Object.values(errorCodes).flat() as [ErrorCode, ...ErrorCode[]];

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

export const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} was not found`);

/** A valid session whose user is gone: a deletion raced this request. */
export const accountGone = () => new ApiError(401, 'SESSION_ENDED', 'This account no longer exists; sign in again');

/**
 * An optimistic write that kept losing to concurrent writes of the same items (one user's own
 * requests racing). The client's retry settles it: contention is answered 409, never a 5xx.
 */
export class ContentionError extends Error {
  override name = 'ContentionError';
}

/** Seconds a client waits before retrying a request that lost to its own concurrent requests. */
const CONTENTION_RETRY_AFTER_SECONDS = 1;

/** `ContentionError` in the API's words. */
export const tryAgain = () =>
  new ApiError(409, 'TRY_AGAIN', 'Other requests of this account changed the same data at the same time; retry after Retry-After seconds', {
    retryable: true,
    headers: { 'retry-after': String(CONTENTION_RETRY_AFTER_SECONDS) },
  });

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
