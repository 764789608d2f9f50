import http2 from 'node:http2';
import { createServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../../handlers/core/config';
import type { Job } from '../../handlers/domain/jobs/job';
import { createBedrockClient } from '../../handlers/bedrock/bedrock-client';
import { createBedrockModel } from '../../handlers/bedrock/bedrock-model';
import { startBedrockStandIn } from '../../local/stand-ins/bedrock-stand-in';
import { localCredentials } from '../../local/local-deps';
import { labReport } from '../../local/fixtures/documents';

let standIn: Awaited<ReturnType<typeof startBedrockStandIn>>;
beforeAll(async () => {
  standIn = await startBedrockStandIn();
});
afterAll(() => standIn.stop());
afterEach(() => vi.restoreAllMocks());

describe("the worker's Bedrock client", () => {
  // A session per request is not freed when it closes: the SDK's per-request timer holds it (and its
  // socket and buffers) for the whole request timeout, so a warm worker's memory grew with every
  // document (docs/performance.md, part 5).
  it('sends every document over one HTTP/2 session', async () => {
    const connect = vi.spyOn(http2, 'connect');
    const config = { region: 'eu-central-1', workerTimeoutSeconds: 180 } as AppConfig;
    const client = createBedrockClient(config, { endpoint: standIn.endpoint, credentials: localCredentials });
    const model = createBedrockModel(client, 'eu.anthropic.claude-haiku-4-5-20251001-v1:0');
    const job = { type: 'document', contentType: 'text/plain', userId: 'u', jobId: 'j' } as unknown as Job;
    for (let i = 0; i < 20; i++) {
      await expect(model(job, Buffer.from(labReport()))).resolves.toMatchObject({ usage: {} });
    }
    expect(connect).toHaveBeenCalledTimes(1);
    client.destroy();
  });

  // The pooled session must not outlive a connection that went silent (e.g. dropped while the
  // function was frozen): each retry gets a session of its own, not the same dead one three times.
  it('opens a new session for each retry when a session goes silent', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    // 21.5 s for the worker leaves each of the three attempts 500 ms.
    const config = { region: 'eu-central-1', workerTimeoutSeconds: 21.5 } as AppConfig;
    const client = createBedrockClient(config, { endpoint: `http://127.0.0.1:${port}`, credentials: localCredentials });
    const model = createBedrockModel(client, 'eu.anthropic.claude-haiku-4-5-20251001-v1:0');
    const job = { type: 'document', contentType: 'text/plain', userId: 'u', jobId: 'j' } as unknown as Job;
    try {
      await expect(model(job, Buffer.from(labReport()))).rejects.toMatchObject({ code: 'MODEL_BUSY' });
      expect(sockets).toHaveLength(3);
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
