import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobStore } from '../../handlers/domain/jobs/job-store';
import { createUploadWorker } from '../../handlers/domain/jobs/upload-worker';
import { labReport, pdf, png } from '../../local/fixtures/documents';
import { captureOutput, createTestRuntime, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({ processing: true });
});
afterAll(() => t.stop());

type User = Awaited<ReturnType<TestRuntime['onboard']>>;

const startUpload = (user: User, contentType: string, contentLength: number, documentType?: string) =>
  t.request('POST', '/api/v1/process/upload', {
    token: user.accessToken,
    body: { contentType, contentLength, ...(documentType ? { documentType } : {}) },
  });

type PresignedPost = { url: string; fields: Record<string, string> };

/** Posts the file as the app does: multipart form data with the presigned fields, file last. */
async function postForm(upload: PresignedPost, bytes: Uint8Array, contentType: string) {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append('file', new Blob([bytes], { type: contentType }), 'my-lab-report-with-my-name.pdf');
  return fetch(upload.url, { method: 'POST', body: form });
}

/** The same, which S3 must accept. */
async function postFile(upload: PresignedPost, bytes: Uint8Array, contentType: string) {
  const res = await postForm(upload, bytes, contentType);
  expect(res.status, await res.text()).toBeLessThan(300);
}

/** Upload → worker → done; returns the job id once the worker has finished with it. */
async function processDocument(user: User, contentType: string, bytes: Uint8Array) {
  const started = await startUpload(user, contentType, bytes.length);
  expect(started.status).toBe(201);
  await postFile(started.body.upload, bytes, contentType);
  await t.uploads!.settled();
  return started.body.jobId as string;
}

/** The same with the input written directly, for bytes no presigned POST would take. */
async function putDocument(user: User, contentType: string, bytes: Uint8Array) {
  const started = await startUpload(user, contentType, 1000);
  expect(started.status).toBe(201);
  const Key = `jobs/${user.userId}/${started.body.jobId}/input`;
  await t.clients.s3.send(new PutObjectCommand({ Bucket: t.config.tempBucket, Key, Body: bytes }));
  await t.uploads!.settled();
  return started.body.jobId as string;
}

const status = (user: User, jobId: string) =>
  t.request('GET', `/api/v1/process/status/${jobId}`, { token: user.accessToken });
const result = (user: User, jobId: string) =>
  t.request('GET', `/api/v1/process/result/${jobId}`, { token: user.accessToken });
const objectsOf = async (userId: string) =>
  (
    (await t.clients.s3.send(new ListObjectsV2Command({ Bucket: t.config.tempBucket, Prefix: `jobs/${userId}/` })))
      .Contents ?? []
  ).map((o) => o.Key!);
const makePremium = (userId: string) =>
  t.deps.dynamo.send(
    new UpdateCommand({
      TableName: t.config.usersTable,
      Key: { PK: `USER#${userId}`, SK: 'PROFILE' },
      UpdateExpression: 'SET current_subscription = :s',
      ExpressionAttributeValues: {
        ':s': { type: 'premium', status: 'active', expires_at: '2099-01-01T00:00:00.000Z' },
      },
    }),
  );

describe('a document travels upload → Bedrock → result → gone', () => {
  it.each([
    ['text', 'text/plain', () => Buffer.from(labReport())],
    ['PDF', 'application/pdf', () => pdf(labReport().split('\n'))],
  ])('a %s lab report comes back with its values, and its input is deleted', async (_, contentType, bytes) => {
    const user = await t.onboard();
    const jobId = await processDocument(user, contentType, bytes());

    const s = await status(user, jobId);
    expect(s.body).toMatchObject({ jobId, type: 'document', status: 'completed' });
    const r = await result(user, jobId);
    expect(r.status).toBe(200);
    expect(r.body.result.documentType).toBe('lab_results');
    expect(r.body.result.labResults).toEqual([
      expect.objectContaining({
        testName: 'Hemoglobin',
        value: 13.5,
        unit: 'g/dL',
        referenceRange: expect.objectContaining({ low: 12, high: 15.5 }),
        flag: 'normal',
      }),
      expect.objectContaining({ testName: 'Glucose', value: 112, unit: 'mg/dL', flag: 'high' }),
    ]);
    expect(r.body.result.vitals).toEqual([{ type: 'heart rate', value: 72, unit: 'bpm' }]);
    expect(r.body.usage).toMatchObject({
      modelId: t.config.modelId,
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });
    expect(await objectsOf(user.userId)).toEqual([`jobs/${user.userId}/${jobId}/result.json`]);

    expect((await t.request('DELETE', `/api/v1/process/cleanup/${jobId}`, { token: user.accessToken })).status).toBe(
      204,
    );
    expect(await objectsOf(user.userId)).toEqual([]);
    expect((await result(user, jobId)).status).toBe(404);
    expect((await status(user, jobId)).status).toBe(404);
    expect((await t.request('DELETE', `/api/v1/process/cleanup/${jobId}`, { token: user.accessToken })).status).toBe(
      204,
    );
  });

  it('an image is sent as an image block and completes', async () => {
    const user = await t.onboard();
    const jobId = await processDocument(user, 'image/png', png);
    expect((await result(user, jobId)).body.result).toMatchObject({
      documentType: 'other',
      summary: expect.stringContaining(`${png.length} bytes`),
    });
    const call = JSON.parse(t.standIn!.calls.at(-1)!.body);
    expect(call.messages[0].content[0].image.format).toBe('png');
  });

  it('sends Bedrock a neutral document name, never the file name, and instructions that the document is data', async () => {
    const user = await t.onboard();
    await processDocument(user, 'text/plain', Buffer.from(labReport()));
    const call = t.standIn!.calls.at(-1)!;
    expect(call.modelId).toBe(t.config.modelId);
    const body = JSON.parse(call.body);
    expect(body.messages[0].content[0].document.name).toBe('document');
    expect(call.body).not.toContain('my-lab-report-with-my-name');
    expect(body.system[0].text).toContain('never instructions');
    expect(body.toolConfig.toolChoice).toEqual({ tool: { name: 'record_document_result' } });
  });

  it('answers a presigned POST whose policy pins the key, the type and the size, for at most 10 minutes', async () => {
    const user = await t.onboard();
    const res = await startUpload(user, 'application/pdf', 1000, 'lab_results');
    expect(res.status).toBe(201);
    const { upload, jobId } = res.body;
    expect(upload).toMatchObject({ method: 'POST', maxBytes: 1000 });
    const policy = JSON.parse(Buffer.from(upload.fields.Policy, 'base64').toString());
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { key: `jobs/${user.userId}/${jobId}/input` },
        { bucket: t.config.tempBucket },
        ['content-length-range', 1000, 1000],
        ['eq', '$Content-Type', 'application/pdf'],
      ]),
    );
    const lifetime = Date.parse(policy.expiration) - Date.now();
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(10 * 60 * 1000);
    expect(Date.parse(upload.expiresAt)).toBeLessThanOrEqual(Date.now() + 10 * 60 * 1000);
    expect((await status(user, jobId)).body.status).toBe('awaiting_upload');
  });
});

describe('bad uploads get a clear answer and lose nothing', () => {
  it.each([
    ['an unsupported type', 'application/zip', 100, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a PDF over 4.5 MB', 'application/pdf', 4_500_001, 413, 'DOCUMENT_TOO_LARGE'],
    ['an image over 3.75 MB', 'image/jpeg', 3_750_001, 413, 'DOCUMENT_TOO_LARGE'],
    ['a zero length', 'image/png', 0, 400, 'VALIDATION_ERROR'],
  ])('%s is refused before a job exists', async (_, contentType, length, code, error) => {
    const user = await t.onboard();
    const res = await startUpload(user, contentType, length);
    expect(res.status).toBe(code);
    expect(res.body.error.code).toBe(error);
    expect((await t.rawItems()).some((i) => i.PK === `USER#${user.userId}` && String(i.SK).startsWith('JOB#'))).toBe(
      false,
    );
  });

  it.each([
    ['larger', 1001],
    ['smaller', 999],
  ])('a file %s than declared is refused by S3 (the POST takes that length only); no job runs', async (_, size) => {
    const user = await t.onboard();
    const started = await startUpload(user, 'text/plain', 1000);
    const res = await postForm(started.body.upload, Buffer.alloc(size, 'a'), 'text/plain');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(size > 1000 ? '<Code>EntityTooLarge</Code>' : '<Code>EntityTooSmall</Code>');
    await t.uploads!.settled();
    expect(await objectsOf(user.userId)).toEqual([]);
    expect((await status(user, started.body.jobId)).body.status).toBe('awaiting_upload');
  });

  // S3 enforces the declared type as a label only: the bytes are the worker's to check. An input no
  // presigned POST can deliver (empty, over the limit) is written directly, as a defence in depth.
  it.each([
    ['a PNG declared as a PDF', 'application/pdf', png],
    ['an empty file', 'text/plain', Buffer.alloc(0)],
    ['binary bytes declared as text', 'text/plain', Buffer.from([0x00, 0x01, 0xff, 0xfe])],
    ['a text file over its limit', 'text/plain', Buffer.alloc(4_500_001, 'a')],
  ])(
    '%s fails the job with INVALID_DOCUMENT, never reaches the model, and is deleted',
    async (_, contentType, bytes) => {
      const user = await t.onboard();
      const calls = t.standIn!.calls.length;
      const postable = bytes.length > 0 && bytes.length <= 4_500_000;
      const jobId = await (postable ? processDocument : putDocument)(user, contentType, bytes);
      const s = await status(user, jobId);
      expect(s.body).toMatchObject({ status: 'failed', error: { code: 'INVALID_DOCUMENT', retryable: false } });
      expect(t.standIn!.calls.length).toBe(calls);
      expect(await objectsOf(user.userId)).toEqual([]);
      expect((await result(user, jobId)).body.error.code).toBe('JOB_FAILED');
    },
  );

  it('a malformed model answer fails the job as retryable', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ malformed: true });
    try {
      const jobId = await processDocument(user, 'text/plain', Buffer.from(labReport()));
      expect((await status(user, jobId)).body.error).toEqual({
        code: 'MODEL_OUTPUT_INVALID',
        message: expect.any(String),
        retryable: true,
      });
      expect(await objectsOf(user.userId)).toEqual([]);
    } finally {
      t.standIn!.setFaults({});
    }
  });

  it('throttling beyond the retries fails the job as retryable after a bounded number of attempts', async () => {
    const user = await t.onboard();
    t.standIn!.setFaults({ throttleRate: 1 });
    const calls = t.standIn!.calls.length;
    try {
      const jobId = await processDocument(user, 'text/plain', Buffer.from(labReport()));
      expect((await status(user, jobId)).body.error).toMatchObject({ code: 'MODEL_BUSY', retryable: true });
      expect(t.standIn!.calls.length - calls).toBe(3);
    } finally {
      t.standIn!.setFaults({});
    }
  });

  it('a duplicated upload event calls the model exactly once', async () => {
    const user = await t.onboard();
    const started = await startUpload(user, 'text/plain', 100);
    const key = `jobs/${user.userId}/${started.body.jobId}/input`;
    const calls = t.standIn!.calls.length;
    const event = {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          awsRegion: t.config.region,
          s3: { bucket: { name: t.config.tempBucket }, object: { key, size: 100 } },
        },
      ],
    } as never;
    const worker = createUploadWorker(t.services.jobs, t.deps.model, t.deps.logger);
    await t.clients.s3.send(new PutObjectCommand({ Bucket: t.config.tempBucket, Key: key, Body: labReport() }));
    await Promise.all([worker(event), worker(event), t.uploads!.settled()]);
    await worker(event);
    expect(t.standIn!.calls.length - calls).toBe(1);
    expect((await status(user, started.body.jobId)).body.status).toBe('completed');
  });

  it('a job silent past the worker timeout reads as failed PROCESSING_TIMEOUT, retryable', async () => {
    const user = await t.onboard();
    const started = await startUpload(user, 'text/plain', 100);
    await createJobStore(t.deps).claim(user.userId, started.body.jobId);
    t.clock.advance(t.config.workerTimeoutSeconds + 120);
    try {
      expect((await status(user, started.body.jobId)).body).toMatchObject({
        status: 'failed',
        error: { code: 'PROCESSING_TIMEOUT', retryable: true },
      });
    } finally {
      t.clock.advance(-(t.config.workerTimeoutSeconds + 120));
    }
  });

  it.each(['status', 'result', 'cleanup'])('another user’s job is a 404 on %s, and stays untouched', async (route) => {
    const owner = await t.onboard();
    const other = await t.onboard();
    const jobId = await processDocument(owner, 'text/plain', Buffer.from(labReport()));
    const path = route === 'cleanup' ? `/api/v1/process/cleanup/${jobId}` : `/api/v1/process/${route}/${jobId}`;
    const res = await t.request(route === 'cleanup' ? 'DELETE' : 'GET', path, { token: other.accessToken });
    expect(res.status).toBe(404);
    expect((await result(owner, jobId)).status).toBe(200);
    const chat = await t.request('GET', `/api/v1/chat/status/${jobId}`, { token: other.accessToken });
    expect(chat.status).toBe(404);
  });

  it('a malformed job id is a 400', async () => {
    const user = await t.onboard();
    expect((await status(user, 'not-a-uuid')).status).toBe(400);
  });
});

describe('chat', () => {
  it('lists prompts', async () => {
    const user = await t.onboard();
    const res = await t.request('GET', '/api/v1/chat/prompts', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.prompts.length).toBeGreaterThan(0);
    expect(res.body.prompts[0]).toEqual({
      id: expect.any(String),
      category: expect.any(String),
      text: expect.any(String),
    });
  });

  it('answers a message through the worker, quoting the question, and keeps nothing but the answer', async () => {
    const user = await t.onboard();
    const res = await t.request('POST', '/api/v1/chat/messages', {
      token: user.accessToken,
      body: {
        message: 'Is a glucose of 112 worrying?',
        context: { summary: 'Recent labs', labResults: [{ testName: 'Glucose', value: 112 }] },
        history: [
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'Hi' },
          { role: 'user', content: 'I have a question' },
          { role: 'assistant', content: 'Sure' },
        ],
      },
    });
    expect(res.status).toBe(202);
    await t.uploads!.settled();
    const s = await t.request('GET', `/api/v1/chat/status/${res.body.jobId}`, { token: user.accessToken });
    expect(s.body).toMatchObject({
      type: 'chat',
      status: 'completed',
      response: { message: expect.stringContaining('You asked: "Is a glucose of 112 worrying?"') },
    });
    const sent = JSON.parse(t.standIn!.calls.at(-1)!.body);
    expect(sent.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(await objectsOf(user.userId)).toEqual([`jobs/${user.userId}/${res.body.jobId}/result.json`]);
  });

  it.each([
    ['an empty message', { message: '' }],
    ['a message over 4000 characters', { message: 'x'.repeat(4001) }],
    [
      '21 turns of history',
      { message: 'hi', history: Array.from({ length: 21 }, () => ({ role: 'user', content: 'x' })) },
    ],
    ['an unknown field', { message: 'hi', temperature: 2 }],
  ])('refuses %s with 400 and starts nothing', async (_, body) => {
    const user = await t.onboard();
    const res = await t.request('POST', '/api/v1/chat/messages', { token: user.accessToken, body });
    expect(res.status).toBe(400);
    expect(await objectsOf(user.userId)).toEqual([]);
  });
});

describe('doctor report', () => {
  const healthData = {
    labResults: [{ testName: 'Glucose', value: 112 }],
    vitals: [{ type: 'heart rate', value: 72, unit: 'bpm' }],
    notes: 'Tired lately',
  };

  it('is premium only: a free user gets 403 PREMIUM_REQUIRED and nothing starts', async () => {
    const user = await t.onboard();
    const res = await t.request('POST', '/api/v1/process/doctor-report', {
      token: user.accessToken,
      body: { healthData },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('PREMIUM_REQUIRED');
    expect(await objectsOf(user.userId)).toEqual([]);
  });

  it('runs for a premium user and is read through the status and result routes', async () => {
    const user = await t.onboard();
    await makePremium(user.userId);
    const res = await t.request('POST', '/api/v1/process/doctor-report', {
      token: user.accessToken,
      body: { healthData },
    });
    expect(res.status).toBe(202);
    await t.uploads!.settled();
    const r = await result(user, res.body.jobId);
    expect(r.body).toMatchObject({
      type: 'doctor_report',
      result: { summary: 'A report on 1 lab result(s) and 1 vital sign(s).' },
    });
  });
});

describe('quotas', () => {
  it('allow 3 jobs in progress; the 4th gets 429 with Retry-After, and a finished job frees its slot', async () => {
    const user = await t.onboard();
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push((await startUpload(user, 'text/plain', 100)).body.jobId);
    const fourth = await startUpload(user, 'text/plain', 100);
    expect(fourth.status).toBe(429);
    expect(fourth.body.error).toMatchObject({ code: 'QUOTA_EXCEEDED', retryable: true });
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
    await t.request('DELETE', `/api/v1/process/cleanup/${jobs[0]}`, { token: user.accessToken });
    expect((await startUpload(user, 'text/plain', 100)).status).toBe(201);
  });

  it('count document jobs per day by plan, atomically under concurrency', async () => {
    const small = await createTestRuntime({
      env: { QUOTAS: JSON.stringify({ dailyDocumentsFree: 4, concurrentJobs: 100 }) },
    });
    const user = await small.onboard();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        small.request('POST', '/api/v1/process/upload', {
          token: user.accessToken,
          body: { contentType: 'text/plain', contentLength: 10 },
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(4);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(6);
    const secondsToMidnight =
      (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) /
      1000;
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeCloseTo(secondsToMidnight, -2);
    await small.stop();
  });
});

describe('privacy', () => {
  it('no log line, metric or error body carries a word of a document or a chat message', async () => {
    const t = await createTestRuntime({ processing: true, logLevel: 'DEBUG' });
    const processDocument = async (user: User, contentType: string, bytes: Uint8Array) => {
      const started = await t.request('POST', '/api/v1/process/upload', {
        token: user.accessToken,
        body: { contentType, contentLength: bytes.length },
      });
      await postFile(started.body.upload, bytes, contentType);
      await t.uploads!.settled();
    };
    const canaries = ['Zorblatine', 'Quexonium 4.2 mmol/L (1.0-5.0)', 'Vyrrathic'];
    let errors = '';
    const logs = await captureOutput(async () => {
      const user = await t.onboard();
      await processDocument(user, 'text/plain', Buffer.from(labReport([`${canaries[1]}`, 'Zorblatine level noted'])));
      const chat = await t.request('POST', '/api/v1/chat/messages', {
        token: user.accessToken,
        body: { message: `What is ${canaries[2]}?` },
      });
      await t.uploads!.settled();
      await t.request('GET', `/api/v1/chat/status/${chat.body.jobId}`, { token: user.accessToken });
      for (const bad of [
        t.request('POST', '/api/v1/chat/messages', {
          token: user.accessToken,
          body: { message: canaries[0], bogus: canaries[2] },
        }),
        t.request('POST', '/api/v1/process/upload', {
          token: user.accessToken,
          body: { contentType: canaries[0], contentLength: 1 },
        }),
      ])
        errors += JSON.stringify((await bad).body);
    });
    expect(logs).toContain('"message":"job finished"');
    expect(logs).toContain('"EstimatedCostUSD"');
    for (const canary of [...canaries, 'Quexonium']) {
      expect(logs).not.toContain(canary);
      expect(errors).not.toContain(canary);
    }
    await t.stop();
  });
});

describe('under load', () => {
  it('20 users × 2 documents at once: every result goes to its own uploader, none lost', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => t.onboard()));
    const runs = await Promise.all(
      users.flatMap((user, u) =>
        [0, 1].map(async (d) => {
          const marker = `Marker${u}x${d} ${u}.${d} u (0-100)`;
          const jobId = await processDocument(user, 'text/plain', Buffer.from(labReport([marker])));
          return { user, jobId, u, d };
        }),
      ),
    );
    await t.uploads!.settled();
    for (const { user, jobId, u, d } of runs) {
      const r = await result(user, jobId);
      expect(r.status).toBe(200);
      expect(r.body.result.labResults).toEqual([
        expect.objectContaining({ testName: `Marker${u}x${d}`, value: Number(`${u}.${d}`) }),
      ]);
    }
  }, 120_000);

  it('the input object is gone once a job is done', async () => {
    const user = await t.onboard();
    const jobId = await processDocument(user, 'text/plain', Buffer.from(labReport()));
    const head = await t.clients.s3
      .send(new HeadObjectCommand({ Bucket: t.config.tempBucket, Key: `jobs/${user.userId}/${jobId}/input` }))
      .catch((e) => e);
    expect(head.name).toBe('NotFound');
  });
});
