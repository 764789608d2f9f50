/**
 * Errors as the runtime's own layers raise them, and the codes the API answers with. Nothing here
 * knows HTTP: the web layer maps each `DomainError` to its answer in one table
 * (`web/error-answers.ts`).
 */

/**
 * Every `error.code` the API answers, by the status it comes with: the one list an answer may
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
 * What domain code throws when a request cannot go on: one subclass per reason, named `…Error`,
 * carrying the facts its answer needs (never request content). The web layer maps each to its
 * status, code and message; the domain never chooses an HTTP answer.
 */
export abstract class DomainError extends Error {
  constructor(message?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * An optimistic write that kept losing to concurrent writes of the same items (one user's own
 * requests racing). The client's retry settles it: contention is answered 409, never a 5xx.
 */
export class ContentionError extends DomainError {
  override name = 'ContentionError';
}
