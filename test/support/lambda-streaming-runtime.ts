import { Writable } from 'node:stream';

/**
 * The Lambda Node runtime's side of response streaming, as its runtime interface client implements
 * it: `awslambda.streamifyResponse` marks the handler (`Symbol.for('aws.lambda.runtime.handler.streaming')`
 * = 'response'), the runtime calls it with `(event, responseStream, context)`, and
 * `awslambda.HttpResponseStream.from` sets the stream's content type to
 * `application/vnd.awslambda.http-integration-response` and writes, before the first write, the JSON
 * prelude and 8 NUL bytes. API Gateway's side reads the prelude as status and headers and streams
 * the rest as the body.
 *
 * Self-contained on purpose: the bundle tests inject `installAwslambda.toString()` into a fresh
 * Node process, where Lambda would have set the global before loading the handler.
 */
export function installAwslambda(target: Record<string, unknown> = globalThis as never) {
  const marker = Symbol.for('aws.lambda.runtime.handler.streaming');
  const awslambda = {
    streamifyResponse(handler: any) {
      handler[marker] = 'response';
      return handler;
    },
    HttpResponseStream: {
      from(stream: any, prelude: unknown) {
        stream.setContentType('application/vnd.awslambda.http-integration-response');
        const metadata = JSON.stringify(prelude);
        stream._onBeforeFirstWrite = (write: (chunk: unknown) => void) => {
          write(metadata);
          write(new Uint8Array(8));
        };
        return stream;
      },
    },
  };
  target.awslambda = awslambda;
  return awslambda;
}

/** What API Gateway received from one streamed invocation. */
export interface StreamedInvocation {
  contentType?: string;
  /** The prelude: status, headers and cookies of the HTTP answer. */
  prelude: { statusCode: number; headers: Record<string, string>; cookies?: string[] };
  body: string;
  /** Each body chunk as it arrived, with its time. */
  chunks: Array<{ text: string; at: number }>;
}

/** Splits the bytes of a streamed HTTP integration response at its first 8 NUL bytes, as API Gateway does. */
export function parseIntegrationResponse(bytes: Buffer): {
  prelude: StreamedInvocation['prelude'];
  bodyOffset: number;
} {
  const delimiter = bytes.indexOf(Buffer.alloc(8));
  if (delimiter < 0) throw new Error('No 8-NUL delimiter after the prelude');
  return { prelude: JSON.parse(bytes.subarray(0, delimiter).toString('utf8')), bodyOffset: delimiter + 8 };
}

/**
 * Invokes a handler the way the runtime does: only a handler marked streaming gets a response
 * stream. `goneAfter(text)` is asked after each chunk; true destroys the stream, as a connection
 * API Gateway dropped does.
 */
export async function invokeStreaming(
  handler: unknown,
  event: unknown,
  options: { goneAfter?: (bodySoFar: string) => boolean } = {},
): Promise<StreamedInvocation> {
  if ((handler as Record<symbol, unknown>)[Symbol.for('aws.lambda.runtime.handler.streaming')] !== 'response') {
    throw new Error('The handler is not marked for response streaming (awslambda.streamifyResponse)');
  }
  const raw: Buffer[] = [];
  const timed: Array<{ bytes: Buffer; at: number }> = [];
  let contentType: string | undefined;
  let firstWrite = true;
  let gone = false;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk);
      timed.push({ bytes: chunk, at: performance.now() });
      callback();
      if (options.goneAfter && !gone) {
        const all = Buffer.concat(raw);
        const delimiter = all.indexOf(Buffer.alloc(8));
        if (delimiter >= 0 && options.goneAfter(all.subarray(delimiter + 8).toString('utf8'))) {
          gone = true;
          setImmediate(() => stream.destroy(new Error('The client closed the connection')));
        }
      }
    },
  }) as Writable & {
    setContentType(type: string): void;
    _onBeforeFirstWrite?: (write: (chunk: unknown) => void) => void;
  };
  stream.setContentType = (type) => (contentType = type);
  stream.on('error', () => undefined);
  const write = stream.write.bind(stream) as (chunk: unknown) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (firstWrite) {
      firstWrite = false;
      stream._onBeforeFirstWrite?.((c) => write(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c as Uint8Array)));
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  await (handler as (e: unknown, s: unknown, c: unknown) => Promise<void>)(event, stream, {
    awsRequestId: 'lambda-request-1',
    functionName: 'serenya-chat',
  });
  const bytes = Buffer.concat(raw);
  const { prelude, bodyOffset } = parseIntegrationResponse(bytes);
  let offset = 0;
  const chunks = timed.flatMap(({ bytes: b, at }) => {
    const start = offset;
    offset += b.length;
    const from = Math.max(start, bodyOffset) - start;
    return from < b.length ? [{ text: b.subarray(from).toString('utf8'), at }] : [];
  });
  return { contentType, prelude, body: bytes.subarray(bodyOffset).toString('utf8'), chunks };
}
