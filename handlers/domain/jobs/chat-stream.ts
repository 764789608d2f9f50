import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import type { Clock } from '../../core/clock';
import { once } from '../../core/once';
import { JobFailure, type Usage } from './job';
import type { ChatInput } from './job-schemas';
import type { JobService } from './job-service';

/** What a streaming model gives: pieces of the answer's text as they come, then the tokens it cost. */
export type ChatPiece = { type: 'delta'; text: string } | { type: 'usage'; usage: Usage };

/**
 * The model a streamed answer runs on: the checked chat request in, the answer's pieces out. It
 * stops when `signal` aborts (the client went: no tokens after that), and throws a `JobFailure`
 * for what the app should read (a busy or refusing model). Bedrock's ConverseStream in AWS and
 * offline (`processing/bedrock-chat-stream.ts`).
 */
export type ChatModel = (request: z.infer<typeof ChatInput>, signal: AbortSignal) => AsyncIterable<ChatPiece>;

/** Sent with every complete streamed answer: fixed words, not the model's. */
const chatDisclaimer = 'This is general information, not medical advice. Talk to your doctor about your results.';

/** `delta`: the next piece of the answer. */
export const ChatStreamDelta = z.object({ text: z.string() });
/** `done`: the answer is complete, with what it cost and the disclaimer; the last event. */
export const ChatStreamDone = z.object({
  usage: z.object({ inputTokens: z.number().int(), outputTokens: z.number().int() }),
  disclaimer: z.string(),
});

/**
 * The events of a streamed answer, in order: deltas, then one `done` or one `error` (a
 * `JobFailure`'s code, message and whether to retry; the web layer answers it as the API's error body).
 */
export type ChatStreamEvent =
  | { event: 'delta'; data: z.infer<typeof ChatStreamDelta> }
  | { event: 'done'; data: z.infer<typeof ChatStreamDone> }
  | { event: 'error'; data: Pick<JobFailure, 'code' | 'message' | 'retryable'> };

/**
 * Chat answers streamed as the model writes them, with nothing stored: the reservation is a chat
 * job's (plan, concurrency slot, daily cap — counted in the same transaction), without a job item
 * or an input object; the slot is freed when the stream ends or the client goes. Ids, counts,
 * durations and codes are logged — never the message nor the answer.
 */
export function createChatStreams(deps: {
  jobs: JobService;
  model: () => Promise<ChatModel>;
  clock: Clock;
  logger: Logger;
}) {
  const { jobs, clock, logger } = deps;
  // Loaded by the first stream, and again after a load that failed: no API cold start loads it.
  const model = once(deps.model);

  return {
    /**
     * Reserves the caller's slot and daily count (429 over either, 403/401 as a chat job), then
     * gives the answer's events; `signal` is the client's: when it goes, the model call stops.
     */
    async open(userId: string, profile: Record<string, unknown> | undefined, request: z.infer<typeof ChatInput>) {
      const reservation = await jobs.reserveStream(userId, profile);
      return async function* answer(signal: AbortSignal): AsyncGenerator<ChatStreamEvent> {
        const started = clock.now().getTime();
        let usage: Usage | undefined;
        let deltas = 0;
        let outcome = 'completed';
        let errorName: string | undefined;
        try {
          for await (const piece of (await model())(request, signal)) {
            if (signal.aborted) break;
            if (piece.type === 'usage') usage = piece.usage;
            else if (piece.text) {
              deltas++;
              yield { event: 'delta', data: { text: piece.text } };
            }
          }
          if (signal.aborted) outcome = 'client_gone';
          else {
            const tokens = { inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0 };
            yield { event: 'done', data: { usage: tokens, disclaimer: chatDisclaimer } };
          }
        } catch (err) {
          if (signal.aborted) outcome = 'client_gone';
          else {
            const unknown = new JobFailure('PROCESSING_FAILED', 'The answer failed; ask again', true);
            const failure = err instanceof JobFailure ? err : unknown;
            outcome = failure.code;
            // A fault of ours: its class only (its message may quote the model or the request).
            if (failure === unknown) errorName = err instanceof Error ? err.name : typeof err;
            const { code, message, retryable } = failure;
            yield { event: 'error', data: { code, message, retryable } };
          }
        } finally {
          await reservation.release();
          if (usage) jobs.recordUsage('chat', usage);
          logger.info('chat stream finished', {
            streamId: reservation.id,
            userId,
            outcome,
            errorName,
            deltas,
            durationMs: clock.now().getTime() - started,
            inputTokens: usage?.inputTokens,
            outputTokens: usage?.outputTokens,
          });
        }
      };
    },
  };
}

export type ChatStreams = ReturnType<typeof createChatStreams>;
