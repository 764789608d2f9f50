import { ConverseCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { JobFailure, type Model } from '../domain/jobs/job';
import { converseRequest, parseConverseResponse } from './converse-request';

/** Bedrock errors a later attempt can get past. */
export const transientModelErrors = new Set([
  'ThrottlingException',
  'ServiceUnavailableException',
  'ModelNotReadyException',
  'ModelTimeoutException',
  'InternalServerException',
  'TimeoutError',
]);

/** Bedrock's refusals in the words the app reads; anything else stays an unknown fault. */
function asFailure(err: unknown): unknown {
  const name = (err as { name?: string }).name ?? '';
  if (transientModelErrors.has(name))
    return new JobFailure('MODEL_BUSY', 'The model is busy; try again in a minute', true);
  if (name === 'ValidationException')
    return new JobFailure(
      'INVALID_DOCUMENT',
      'The model could not read this document; check the file and upload it again',
      false,
    );
  return err;
}

/**
 * The job's model on Bedrock Converse in this zone (`modelId` is the zone's geographic inference
 * profile): the fixed instructions and forced tool of `converse-request.ts`, the answer validated
 * against the job's result schema.
 */
export function createBedrockModel(bedrock: BedrockRuntimeClient, modelId: string): Model {
  return async (job, input) => {
    const request = converseRequest(job, input, modelId);
    const response = await bedrock.send(new ConverseCommand(request)).catch((err: unknown) => {
      throw asFailure(err);
    });
    const { result, inputTokens, outputTokens } = parseConverseResponse(job.type, response);
    return { result, usage: { modelId, inputTokens, outputTokens } };
  };
}
