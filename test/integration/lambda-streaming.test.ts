import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundleEnv, registerBundleUser } from '../support/bundle-user';
import { createStreamingHandler } from '../../handlers/edge/response-stream';
import { startBedrockStandIn } from '../../local/stand-ins/bedrock-stand-in';
import { asFunction } from '../support/aws-call-log';
import { deployedKmsKeys } from '../../local/fixtures/deployed-env';
import { installAwslambda, invokeStreaming, parseIntegrationResponse } from '../support/lambda-streaming-runtime';
import { startKmsStandIn } from '../../local/stand-ins/kms-stand-in';
import { restEvent } from '../../local/fixtures/rest-event';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/** The server-sent events of a body, read by an independent SSE parser. */
function sseEvents(body: string) {
  const events: Array<{ event: string; data: any }> = [];
  const parser = createParser({
    onEvent: (m) => events.push({ event: m.event ?? 'message', data: JSON.parse(m.data) }),
  });
  parser.feed(body);
  return events;
}

const question = { message: 'What does a TSH of 5.1 mean for someone on levothyroxine?' };

describe('the streaming entry under the Lambda runtime’s contract', () => {
  let t: TestRuntime;
  let handler: ReturnType<typeof createStreamingHandler>;
  beforeAll(async () => {
    t = await createTestRuntime({ processing: true });
    handler = createStreamingHandler(t.app, t.deps.logger, installAwslambda({}) as never);
  });
  afterAll(() => t.stop());

  it('starts the HTTP integration response with the JSON prelude and 8 NUL bytes, then streams the events as they come', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ deltaDelayMs: 30 });
    let finishedAtFirstDelta: boolean | undefined;
    const invocation = await asFunction('chat', () =>
      invokeStreaming(handler, restEvent('/api/v1/chat/stream', user.accessToken, { method: 'POST', body: question }), {
        goneAfter: (body) => {
          if (finishedAtFirstDelta === undefined && body.includes('event: delta'))
            finishedAtFirstDelta = t.standIn!.calls.at(-1)!.streamed !== undefined;
          return false;
        },
      }),
    );
    t.standIn!.setFaults({});
    expect(invocation.contentType).toBe('application/vnd.awslambda.http-integration-response');
    expect(invocation.prelude.statusCode).toBe(200);
    expect(invocation.prelude.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(invocation.prelude.headers['transfer-encoding']).toBeUndefined();
    expect(finishedAtFirstDelta).toBe(false);
    const events = sseEvents(invocation.body);
    expect(events.filter((e) => e.event === 'delta').length).toBeGreaterThan(3);
    expect(events.at(-1)!.event).toBe('done');
    expect(invocation.chunks.length).toBeGreaterThan(3);
  });

  it('answers a refused request with its status and error body in the prelude and body', async () => {
    const invocation = await invokeStreaming(
      handler,
      restEvent('/api/v1/chat/stream', undefined, { method: 'POST', body: question }),
    );
    expect(invocation.prelude.statusCode).toBe(401);
    expect(invocation.prelude.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(invocation.body).error.code).toBe('UNAUTHENTICATED');
  });

  it('stops the model call when API Gateway drops the connection', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ deltaDelayMs: 40 });
    const calls = t.standIn!.calls.length;
    await asFunction('chat', () =>
      invokeStreaming(
        handler,
        restEvent('/api/v1/chat/stream', user.accessToken, {
          method: 'POST',
          body: { message: `${question.message} ${'More. '.repeat(40)}` },
        }),
        {
          goneAfter: (body) => body.includes('event: delta'),
        },
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    t.standIn!.setFaults({});
    const call = t.standIn!.calls[calls]!;
    expect(call.streamed).toMatchObject({ cancelled: true });
    expect(call.streamed!.sent).toBeLessThan(call.streamed!.deltas / 2);
  });
});

describe('the bundle’s streaming entry (index.streamHandler)', () => {
  const bundle = inject('lambdaBundle');
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'serenya-stream-bundle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh Node process as Lambda starts one: the `awslambda` global first, then the handler module; the response stream's bytes out. */
  function invokeBundle(
    event: unknown,
    env: Record<string, string>,
  ): Promise<{ marker: string; contentType: string; bytes: Buffer; stderr: string }> {
    const file = join(dir, `stream-${randomUUID()}.mjs`);
    writeFileSync(
      file,
      `(${installAwslambda.toString()})(globalThis);
const { streamHandler } = await import(${JSON.stringify(pathToFileURL(bundle.file).href)});
const { Writable } = await import('node:stream');
const raw = []; let contentType; let first = true;
const stream = new Writable({ write(chunk, _e, callback) { raw.push(Buffer.from(chunk)); callback(); } });
stream.setContentType = (type) => (contentType = type);
const write = stream.write.bind(stream);
stream.write = (chunk, ...rest) => {
  if (first) { first = false; stream._onBeforeFirstWrite?.((c) => write(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c))); }
  return write(chunk, ...rest);
};
const marker = streamHandler[Symbol.for('aws.lambda.runtime.handler.streaming')];
await streamHandler(${JSON.stringify(event)}, stream, { awsRequestId: 'bundle-1' });
await new Promise((r) => stream.end(r));
console.log(JSON.stringify({ marker, contentType, raw: Buffer.concat(raw).toString('base64') }));`,
    );
    return new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        [file],
        { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 30_000 },
        (err, stdout, stderr) => {
          if (err) return reject(new Error(`${err.message}\n${stderr}`));
          const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
          resolve({ marker: out.marker, contentType: out.contentType, bytes: Buffer.from(out.raw, 'base64'), stderr });
        },
      ),
    );
  }

  it('streams a chat answer from Bedrock through the bundle, in the integration response format', async () => {
    const kms = await startKmsStandIn(deployedKmsKeys);
    const bedrock = await startBedrockStandIn();
    const env = bundleEnv({ kms: kms.endpoint, bedrock: bedrock.endpoint });
    try {
      const { token } = await registerBundleUser(env, {
        subject: 'stream-bundle',
        email: 'stream@example.com',
        name: 'Stream Bundle',
      });
      const { marker, contentType, bytes } = await invokeBundle(
        restEvent('/api/v1/chat/stream', token, { method: 'POST', body: question }),
        env,
      );
      expect(marker).toBe('response');
      expect(contentType).toBe('application/vnd.awslambda.http-integration-response');
      const { prelude, bodyOffset } = parseIntegrationResponse(bytes);
      expect(prelude.statusCode).toBe(200);
      expect(prelude.headers['content-type']).toMatch(/^text\/event-stream/);
      const events = sseEvents(bytes.subarray(bodyOffset).toString('utf8'));
      expect(
        events
          .filter((e) => e.event === 'delta')
          .map((e) => e.data.text)
          .join(''),
      ).toContain(question.message);
      expect(events.at(-1)!.event).toBe('done');
      expect(bedrock.calls.at(-1)!.streamed).toMatchObject({ cancelled: false });
    } finally {
      await Promise.all([kms.stop(), bedrock.stop()]);
    }
  });
});
