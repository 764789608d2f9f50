import { randomUUID } from 'node:crypto';
import type { Http2ServerResponse } from 'node:http2';
import { EventStreamCodec } from '@smithy/core/event-streams';

/** What one streamed answer did: how much of it went out, and whether its caller went first. */
export interface StreamedAnswer {
  deltas: number;
  sent: number;
  /** The caller closed the stream before the answer was complete: nothing was generated after. */
  cancelled: boolean;
  /** Output tokens of the deltas sent: what Bedrock would bill. */
  outputTokens: number;
}

export interface StreamFaults {
  /** Milliseconds between two deltas. @default 0 */
  deltaDelayMs?: number;
  /** After this many deltas, a `throttlingException` event ends the answer (a throttle mid-answer). */
  throttleAfterDeltas?: number;
  /** Send a frame whose checksum is wrong, as a broken connection would. */
  malformed?: boolean;
}

const fromUtf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const codec = new EventStreamCodec((bytes) => Buffer.from(bytes).toString('utf8'), fromUtf8);
const text = (value: string) => ({ type: 'string' as const, value });

/** One event-stream frame: the event (or exception) type in the headers, its JSON as the body. */
function frame(kind: 'event' | 'exception', type: string, body: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': text(kind),
      [kind === 'event' ? ':event-type' : ':exception-type']: text(type),
      ':content-type': text('application/json'),
    },
    body: fromUtf8(JSON.stringify(body)),
  });
}

/** The answer in pieces of a few words, as a model writes it. */
export function deltasOf(answer: string): string[] {
  return (
    answer.match(/\S+\s*/g)?.reduce<string[]>((pieces, word, i) => {
      if (i % 3 === 0) pieces.push(word);
      else pieces[pieces.length - 1] += word;
      return pieces;
    }, []) ?? []
  );
}

/**
 * Bedrock's `ConverseStream` answer, as the SDK reads it: HTTP 200 with
 * `application/vnd.amazon.eventstream` frames — messageStart, contentBlockDelta per piece,
 * contentBlockStop, messageStop, metadata (usage) — or an exception frame in the middle. Stops
 * generating when the caller closes the stream (no tokens after the caller went).
 */
export async function streamAnswer(
  res: Http2ServerResponse,
  answer: string,
  inputTokens: number,
  faults: StreamFaults,
): Promise<StreamedAnswer> {
  const deltas = deltasOf(answer);
  const result: StreamedAnswer = { deltas: deltas.length, sent: 0, cancelled: false, outputTokens: 0 };
  let closed = false;
  res.once('close', () => (closed = true));
  const write = (bytes: Uint8Array) =>
    new Promise<void>((resolve) => (res.write(bytes) ? resolve() : res.once('drain', resolve)));
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
  await write(frame('event', 'messageStart', { role: 'assistant', p: 'ab' }));
  for (const [i, piece] of deltas.entries()) {
    if (faults.deltaDelayMs) await new Promise((r) => setTimeout(r, faults.deltaDelayMs));
    if (closed) return { ...result, cancelled: true };
    if (faults.throttleAfterDeltas !== undefined && i >= faults.throttleAfterDeltas) {
      const message = 'Too many tokens, please wait before trying again.';
      await write(frame('exception', 'throttlingException', { message }));
      res.end();
      return result;
    }
    if (faults.malformed && i === 1) {
      const broken = frame('event', 'contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece }, p: 'abcd' });
      broken[broken.length - 1] = broken[broken.length - 1]! ^ 0xff;
      await write(broken);
      res.end();
      return result;
    }
    await write(frame('event', 'contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece }, p: 'abcd' }));
    result.sent++;
    result.outputTokens += Math.ceil(piece.length / 4);
  }
  await write(frame('event', 'contentBlockStop', { contentBlockIndex: 0, p: 'abcd' }));
  await write(frame('event', 'messageStop', { stopReason: 'end_turn', p: 'abcd' }));
  await write(
    frame('event', 'metadata', {
      usage: { inputTokens, outputTokens: result.outputTokens, totalTokens: inputTokens + result.outputTokens },
      metrics: { latencyMs: 1 },
      p: 'abcd',
    }),
  );
  res.end();
  return result;
}
