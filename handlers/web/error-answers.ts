import { ContentionError, DomainError } from '../core/errors';
import { InvalidAccessTokenError, WrongZoneError } from '../domain/identity/access-tokens';
import { InvalidAuthorizationCodeError } from '../domain/identity/apple-id';
import { ForeignAuthorizationCodeError } from '../domain/identity/apple-tokens';
import { IdProviderUnavailableError, InvalidIdTokenError } from '../domain/identity/id-tokens';
import {
  DocumentTooLargeError,
  JobFailedError,
  JobNotFoundError,
  PremiumRequiredError,
  ResultNotReadyError,
  UnsupportedDocumentTypeError,
} from '../domain/jobs/job-errors';
import { QuotaExceededError } from '../domain/jobs/job-store';
import {
  InvalidRefreshTokenError,
  RefreshTokenReusedError,
  SessionExpiredError,
} from '../domain/sessions/session-store';
import { UntrustedSignatureError } from '../domain/subscriptions/apple-jws';
import { MalformedNotificationError } from '../domain/subscriptions/subscription-event';
import { AccountClosedError } from '../domain/users/live-profile';
import { UserExistsError } from '../domain/users/user-repository';
import { ApiError } from './api-error';

/** Seconds a client waits before retrying a request that lost to its own concurrent requests. */
const CONTENTION_RETRY_AFTER_SECONDS = 1;

/** What an answer may read besides the error itself. */
export interface AnswerContext {
  sessionLifetimeSeconds: number;
}

type Answer<E> = (err: E, context: AnswerContext) => ApiError;
type Entry = readonly [abstract new (...args: never[]) => DomainError, Answer<never>];
const entry = <E extends DomainError>(type: abstract new (...args: never[]) => E, answer: Answer<E>): Entry => [
  type,
  answer as Answer<never>,
];

/**
 * Every domain error's answer, in one table: status, code, message (what to do), retry advice and
 * headers. Routes throw or let through domain errors; `onError` (`app.ts`) answers them from here.
 */
const answers: readonly Entry[] = [
  // Sessions and access tokens.
  entry(
    WrongZoneError,
    (err) =>
      new ApiError(421, 'WRONG_ZONE', 'This account lives in another zone; send the request to homeApi', {
        extra: { homeApi: err.homeApi },
      }),
  ),
  entry(InvalidAccessTokenError, (err) =>
    err.expired
      ? new ApiError(401, 'TOKEN_EXPIRED', 'The access token has expired; get a new one from /api/v1/auth/refresh')
      : new ApiError(401, 'INVALID_TOKEN', 'The access token is not valid; sign in again'),
  ),
  entry(
    RefreshTokenReusedError,
    () =>
      new ApiError(401, 'TOKEN_REUSED', 'This refresh token was already used, so the session was ended; sign in again'),
  ),
  entry(
    SessionExpiredError,
    (_err, { sessionLifetimeSeconds }) =>
      new ApiError(
        401,
        'SESSION_EXPIRED',
        `Sessions last at most ${sessionLifetimeSeconds / 86400} days; sign in again`,
      ),
  ),
  entry(
    InvalidRefreshTokenError,
    () => new ApiError(401, 'INVALID_REFRESH_TOKEN', 'The refresh token is not valid; sign in again'),
  ),
  // A valid session whose user is gone: a deletion raced this request.
  entry(AccountClosedError, () => new ApiError(401, 'SESSION_ENDED', 'This account no longer exists; sign in again')),

  // Sign-in with the identity providers.
  entry(
    InvalidIdTokenError,
    (err) =>
      new ApiError(
        401,
        'INVALID_ID_TOKEN',
        `${err.message}; sign in with ${err.provider} again and send the new ID token`,
      ),
  ),
  entry(
    IdProviderUnavailableError,
    (err) =>
      new ApiError(503, 'IDENTITY_PROVIDER_UNAVAILABLE', `${err.message}; try again shortly`, { retryable: true }),
  ),
  entry(
    InvalidAuthorizationCodeError,
    () =>
      new ApiError(
        401,
        'INVALID_AUTHORIZATION_CODE',
        'Apple refused the authorization code; sign in with Apple again and send the new code',
      ),
  ),
  entry(
    ForeignAuthorizationCodeError,
    () =>
      new ApiError(
        401,
        'INVALID_AUTHORIZATION_CODE',
        'The authorization code is not of the Apple account of the ID token; ' +
          'send the code Apple returned with this ID token',
      ),
  ),
  entry(
    UserExistsError,
    () =>
      new ApiError(409, 'USER_EXISTS', 'This account is already registered; sign in with /api/v1/auth/oauth-signin'),
  ),

  // Jobs.
  entry(
    PremiumRequiredError,
    () => new ApiError(403, 'PREMIUM_REQUIRED', 'Doctor reports are a premium feature; upgrade to use them'),
  ),
  entry(
    QuotaExceededError,
    (err) =>
      new ApiError(
        429,
        'QUOTA_EXCEEDED',
        err.limit === 'concurrent'
          ? 'Too many jobs are in progress; wait for one to finish'
          : "Today's limit for this kind of request is reached; try again tomorrow",
        { retryable: true, headers: { 'retry-after': String(err.retryAfterSeconds) } },
      ),
  ),
  entry(
    UnsupportedDocumentTypeError,
    (err) => new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Upload one of ${err.supported.join(', ')}`),
  ),
  entry(
    DocumentTooLargeError,
    (err) => new ApiError(413, 'DOCUMENT_TOO_LARGE', `A ${err.contentType} file may be at most ${err.maxBytes} bytes`),
  ),
  entry(JobNotFoundError, (err) => new ApiError(404, 'NOT_FOUND', err.message)),
  entry(
    JobFailedError,
    () =>
      new ApiError(409, 'JOB_FAILED', 'The job failed and has no result; see its status for why', { retryable: false }),
  ),
  entry(
    ResultNotReadyError,
    () =>
      new ApiError(409, 'NOT_READY', 'The result is not ready yet; poll the status and try again', { retryable: true }),
  ),

  // Store notifications.
  entry(
    UntrustedSignatureError,
    () => new ApiError(401, 'WEBHOOK_UNVERIFIED', 'The notification did not verify; nothing was changed'),
  ),
  entry(
    MalformedNotificationError,
    (err) => new ApiError(400, 'INVALID_NOTIFICATION', `The notification verified but cannot be used: ${err.message}`),
  ),

  // One user's own requests racing: the client's retry settles it, never a 5xx.
  entry(
    ContentionError,
    () =>
      new ApiError(
        409,
        'TRY_AGAIN',
        'Other requests of this account changed the same data at the same time; retry after Retry-After seconds',
        { retryable: true, headers: { 'retry-after': String(CONTENTION_RETRY_AFTER_SECONDS) } },
      ),
  ),
];

/** The API's answer to a domain error, or undefined for one no request should meet (a fault: 500). */
export function answerOf(err: unknown, context: AnswerContext): ApiError | undefined {
  if (!(err instanceof DomainError)) return undefined;
  const found = answers.find(([type]) => err instanceof type);
  return found?.[1](err as never, context);
}

/** The domain errors the table answers: each `DomainError` the domain exports is one of them (a unit test checks). */
export const answeredErrors: ReadonlySet<unknown> = new Set(answers.map(([type]) => type));
