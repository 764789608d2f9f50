import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { Writable } from 'node:stream';

/** The response stream the Lambda Node runtime hands a streaming handler. */
export type ResponseStream = Writable & { setContentType(contentType: string): void };

/**
 * What the Lambda Node runtime puts on `globalThis.awslambda` before it loads the handler:
 * `streamifyResponse` marks a handler as streaming (the runtime then calls it with the event, a
 * response stream and the context), and `HttpResponseStream.from` starts an HTTP integration's
 * response (a JSON prelude with status and headers, then 8 NUL bytes, then the body).
 */
export interface LambdaStreamingRuntime {
  streamifyResponse<H>(handler: H): H;
  HttpResponseStream: { from(stream: ResponseStream, prelude: IntegrationPrelude): ResponseStream };
}

/** An HTTP integration response's first part: its status, headers and cookies. */
export interface IntegrationPrelude {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
}

/** Headers of the connection, not of the answer: API Gateway frames the stream itself. */
const hopByHop = new Set(['connection', 'transfer-encoding', 'keep-alive', 'content-length']);

/** An API Gateway REST (v1) proxy event as the Request the app takes, aborted when `signal` is. */
function requestOf(event: APIGatewayProxyEvent, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    for (const v of values ?? []) headers.append(name, v);
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && !headers.has(name)) headers.set(name, value);
  }
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    for (const v of values ?? []) query.append(name, v);
  }
  const search = query.size ? `?${query}` : '';
  const url = `https://${headers.get('host') ?? 'localhost'}${event.path}${search}`;
  const method = event.httpMethod.toUpperCase();
  const hasBody = event.body != null && method !== 'GET' && method !== 'HEAD';
  const body = hasBody ? Buffer.from(event.body!, event.isBase64Encoded ? 'base64' : 'utf8') : undefined;
  return new Request(url, { method, headers, body, signal });
}

/**
 * The chat function's entry: API Gateway's REST events (`responseTransferMode: STREAM`) through the
 * Hono app, the answer written to Lambda's response stream as it is produced. When the client
 * goes, API Gateway closes the stream: the request's signal aborts and the body is cancelled, so
 * the route stops its model call. Lambda's own `awslambda` global is the runtime's contract; it
 * does not exist offline (`npm start` serves the same route over Node's HTTP server).
 */
export function createStreamingHandler(
  app: { fetch(request: Request, env?: unknown): Response | Promise<Response> },
  logger: Logger,
  runtime: LambdaStreamingRuntime | undefined = (globalThis as unknown as { awslambda?: LambdaStreamingRuntime })
    .awslambda,
) {
  async function handler(event: APIGatewayProxyEvent, responseStream: ResponseStream, context: Context): Promise<void> {
    if (context?.awsRequestId) logger.addContext(context);
    const gone = new AbortController();
    let finished = false;
    const onGone = () => {
      if (!finished) gone.abort();
    };
    responseStream.once('close', onGone);
    responseStream.once('error', onGone);
    const env = { event, requestContext: event.requestContext, context };
    const response = await app.fetch(requestOf(event, gone.signal), env);
    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    response.headers.forEach((value, name) => {
      if (name === 'set-cookie') cookies.push(value);
      else if (!hopByHop.has(name)) headers[name] = value;
    });
    const prelude: IntegrationPrelude = { statusCode: response.status, headers, ...(cookies.length && { cookies }) };
    const out = runtime!.HttpResponseStream.from(responseStream, prelude);
    const reader = response.body?.getReader();
    try {
      // The prelude goes out with the first write, so every answer writes at least once.
      if (!reader) out.write('');
      while (reader && !gone.signal.aborted) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!out.write(value))
          await new Promise<void>((resolve) => {
            out.once('drain', resolve);
            gone.signal.addEventListener('abort', () => resolve(), { once: true });
          });
      }
    } finally {
      finished = !gone.signal.aborted;
      if (gone.signal.aborted) await reader?.cancel().catch(() => undefined);
      out.end();
    }
  }
  // Other code may make an `awslambda` object too (the SDK's invoke store does): Lambda's has streamifyResponse.
  if (typeof runtime?.streamifyResponse !== 'function') {
    return async () => {
      throw new Error(
        'The streaming entry runs only in Lambda (awslambda.streamifyResponse); offline, npm start serves the route',
      );
    };
  }
  return runtime.streamifyResponse(handler);
}
