import { ConverseStreamCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { ChatModel } from '../domain/jobs/chat-stream';
import { JobFailure } from '../domain/jobs/job';
import { transientModelErrors } from './bedrock-model';
import { converseStreamRequest } from './converse-request';

/** Bedrock's refusals, before or during the answer, in the words the app reads in the error event. */
function asFailure(err: unknown): unknown {
  const name = (err as { name?: string }).name ?? '';
  if (transientModelErrors.has(name) || name === 'ModelStreamErrorException') {
    return new JobFailure('MODEL_BUSY', 'The model is busy; ask again in a minute', true);
  }
  if (name === 'ValidationException') {
    const message = 'The model could not take this conversation; shorten it and ask again';
    return new JobFailure('INVALID_REQUEST', message, false);
  }
  return err;
}

/**
 * Streamed chat answers on Bedrock ConverseStream in this zone (`modelId` is the zone's inference
 * profile): each text delta as Bedrock sends it, then the usage of its metadata event. The
 * client's signal aborts the HTTP/2 stream, so Bedrock stops generating (and billing) when the
 * app goes; a throttle in the middle of the answer is a `JobFailure` like one before it.
 */
export function createBedrockChatModel(bedrock: BedrockRuntimeClient, modelId: string): ChatModel {
  return async function* (request, signal) {
    try {
      const command = new ConverseStreamCommand(converseStreamRequest(request, modelId));
      const response = await bedrock.send(command, { abortSignal: signal });
      for await (const event of response.stream ?? []) {
        const text = event.contentBlockDelta?.delta?.text;
        if (text) yield { type: 'delta', text };
        const usage = event.metadata?.usage;
        if (usage) {
          const { inputTokens = 0, outputTokens = 0 } = usage;
          yield { type: 'usage', usage: { modelId, inputTokens, outputTokens } };
        }
      }
    } catch (err) {
      throw asFailure(err);
    }
  };
}
