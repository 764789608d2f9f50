import { DomainError } from '../../core/errors';

/** Why a job request cannot go on; `web/error-answers.ts` gives each its answer. */

/** The plan does not include this kind of job. */
export class PremiumRequiredError extends DomainError {
  override name = 'PremiumRequiredError';
}

/** An upload of a type no job reads. */
export class UnsupportedDocumentTypeError extends DomainError {
  override name = 'UnsupportedDocumentTypeError';
  constructor(readonly supported: readonly string[]) {
    super('Unsupported document type');
  }
}

/** An upload declared larger than its type's limit. */
export class DocumentTooLargeError extends DomainError {
  override name = 'DocumentTooLargeError';
  constructor(
    readonly contentType: string,
    readonly maxBytes: number,
  ) {
    super('Document too large');
  }
}

/** No such job of the caller's (other users' jobs do not exist for them), or its result is gone. */
export class JobNotFoundError extends DomainError {
  override name = 'JobNotFoundError';
  constructor(readonly what: 'job' | 'result' = 'job') {
    super(`The ${what} was not found`);
  }
}

/** The job failed: it has no result. */
export class JobFailedError extends DomainError {
  override name = 'JobFailedError';
}

/** The job has not finished yet. */
export class ResultNotReadyError extends DomainError {
  override name = 'ResultNotReadyError';
}
