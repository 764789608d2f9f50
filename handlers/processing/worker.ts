import { ConverseCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { platformMetrics } from '../../contract';
import type { Clock } from '../clock';
import type { AppConfig } from '../config';
import { documentTypes, isDocumentContentType, matchesDeclaredType } from '../jobs/document-types';
import { parseInputKey, type JobObjects } from '../jobs/job-objects';
import type { JobStore, Usage } from '../jobs/job-store';
import { converseRequest, JobFailure, parseConverseResponse } from './converse-request';

/** The worker's dependencies: the platform's, plus the Bedrock client only it uses. */
export interface WorkerDeps {
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  bedrock: BedrockRuntimeClient;
  jobs: JobStore;
  objects: JobObjects;
}

/** Requests the server itself wrote (chat, report) are bounded by the API's body cap. */
const MAX_REQUEST_BYTES = 256 * 1024;

/** Bedrock errors a later attempt can get past. */
const transientModelErrors = new Set([
  'ThrottlingException',
  'ServiceUnavailableException',
  'ModelNotReadyException',
  'ModelTimeoutException',
  'InternalServerException',
  'TimeoutError',
]);

function asFailure(err: unknown): JobFailure {
  if (err instanceof JobFailure) return err;
  const name = (err as { name?: string }).name ?? '';
  if (transientModelErrors.has(name)) return new JobFailure('MODEL_BUSY', 'The model is busy; try again in a minute', true);
  if (name === 'ValidationException') return new JobFailure('INVALID_DOCUMENT', 'The model could not read this document; check the file and upload it again', false);
  return new JobFailure('PROCESSING_FAILED', 'Processing failed; try again', true);
}

/** The input must be what was declared, and within its limit; an empty or disguised file fails the job. */
function checkInput(job: { type: string; contentType: string }, input: Uint8Array | undefined): Uint8Array {
  if (!input || input.length === 0) throw new JobFailure('INVALID_DOCUMENT', 'The upload was empty; upload the file again', false);
  if (job.type !== 'document') {
    if (input.length > MAX_REQUEST_BYTES) throw new JobFailure('INVALID_REQUEST', 'The request was too large', false);
    return input;
  }
  if (!isDocumentContentType(job.contentType)) throw new JobFailure('INVALID_DOCUMENT', 'This type of file is not supported', false);
  if (input.length > documentTypes[job.contentType].maxBytes) {
    throw new JobFailure('INVALID_DOCUMENT', `The file is larger than ${documentTypes[job.contentType].maxBytes} bytes`, false);
  }
  if (!matchesDeclaredType(input, job.contentType)) {
    throw new JobFailure('INVALID_DOCUMENT', `The file is not a valid ${job.contentType} file; upload the original document`, false);
  }
  return input;
}

/**
 * Runs on S3 `ObjectCreated` for `jobs/<userId>/<jobId>/input`: claims the job once, checks the
 * file, asks Bedrock in this zone, writes the result beside the input, deletes the input whatever
 * happened, and records the outcome. It logs ids, sizes, durations and codes — never content.
 */
export function createWorker(deps: WorkerDeps) {
  const { config, clock, logger, metrics, jobs, objects } = deps;

  function recordUsage(type: string, usage: Usage) {
    const cost = (usage.inputTokens * config.pricing.input + usage.outputTokens * config.pricing.output) / 1e6;
    metrics.addDimensions({ model: usage.modelId, jobType: type });
    metrics.addMetric(platformMetrics.inputTokens, MetricUnit.Count, usage.inputTokens);
    metrics.addMetric(platformMetrics.outputTokens, MetricUnit.Count, usage.outputTokens);
    metrics.addMetric(platformMetrics.estimatedCost, MetricUnit.NoUnit, cost);
    metrics.publishStoredMetrics();
    // Once more without model and type, so one alarm watches the zone's whole spend.
    metrics.addMetric(platformMetrics.estimatedCost, MetricUnit.NoUnit, cost);
    metrics.publishStoredMetrics();
  }

  async function handle(record: S3EventRecord) {
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    const ids = parseInputKey(key);
    if (!ids) {
      logger.warn('ignored object', { reason: 'not a job input' });
      return;
    }
    const { userId, jobId } = ids;
    const job = await jobs.claim(userId, jobId);
    if (!job) {
      // A duplicate event, a second upload with a still-valid presigned POST after the job ended,
      // or a job cleaned up or deleted: the input must not wait for the lifecycle rule. Only a job
      // still processing keeps it (its own worker reads it).
      const existing = await jobs.get(userId, jobId);
      if (existing?.status !== 'processing') await objects.remove(userId, jobId, ['input']);
      logger.info('job not claimed', { jobId, userId, reason: existing ? `job ${existing.status}` : 'no such job' });
      return;
    }
    const started = clock.now().getTime();
    let usage: Usage | undefined;
    let failure: JobFailure | undefined;
    let sizeBytes = 0;
    try {
      const input = checkInput(job, await objects.getInput(userId, jobId));
      sizeBytes = input.length;
      const response = await deps.bedrock.send(new ConverseCommand(converseRequest(job, input, config.modelId)));
      const { result, inputTokens, outputTokens } = parseConverseResponse(job.type, response);
      usage = { modelId: config.modelId, inputTokens, outputTokens };
      await objects.putResult(userId, jobId, { type: job.type, result, usage });
    } catch (err) {
      failure = asFailure(err);
    } finally {
      await objects.remove(userId, jobId, ['input']);
    }
    if (usage && !failure) {
      // Cleaned up while the model was working: the result must not outlive the job.
      if (!(await jobs.complete(userId, jobId, usage))) await objects.remove(userId, jobId, ['result']);
      recordUsage(job.type, usage);
    } else {
      await jobs.fail(userId, jobId, { code: failure!.code, message: failure!.message, retryable: failure!.retryable });
    }
    logger.info('job finished', {
      jobId,
      userId,
      type: job.type,
      status: failure ? 'failed' : 'completed',
      code: failure?.code,
      sizeBytes,
      durationMs: clock.now().getTime() - started,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
    });
  }

  return async (event: S3Event): Promise<void> => {
    for (const record of event.Records ?? []) await handle(record);
  };
}
