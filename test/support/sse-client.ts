import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One server-sent event as a client reads it, with when it arrived. */
export interface ReadEvent {
  event: string;
  data: any;
  at: number;
}

/**
 * Reads a `text/event-stream` body with an independent SSE parser (eventsource-parser, the WHATWG
 * algorithm), event by event as the bytes arrive. `stopAfter` cancels the body once that many
 * events have been read, as an app that goes away does.
 */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  options: { stopAfter?: number; onEvent?: (e: ReadEvent) => void } = {},
) {
  const events: ReadEvent[] = [];
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      const read = { event: message.event ?? 'message', data: JSON.parse(message.data), at: performance.now() };
      events.push(read);
      options.onEvent?.(read);
    },
  });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    if (options.stopAfter !== undefined && events.length >= options.stopAfter) {
      await reader.cancel();
      break;
    }
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  return events;
}
