import { BatchGetCommand, BatchWriteCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryDynamo } from '../../bench/memory-dynamo';
import { functionSizes } from '../../components/platform-functions';
import { createJobObjects } from '../../handlers/domain/jobs/job-objects';
import { StoredResult } from '../../handlers/domain/jobs/job-schemas';
import { createJobStore } from '../../handlers/domain/jobs/job-store';
import { restEvent } from '../../local/fixtures/rest-event';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime();
});
afterAll(() => t.stop());

const TableName = () => t.config.usersTable;
const item = (i: number, extra: Record<string, unknown> = {}) => ({ PK: 'LIMITS', SK: `ITEM#${i}`, ...extra });
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: Error) => err.name,
  );

describe('DynamoDB Local refuses what DynamoDB refuses (the offline table is the real engine)', () => {
  it('an item over 400 KB, a batch write over 25, a batch get over 100 keys, a transaction over 100', async () => {
    const send = (command: object) => refusal(t.deps.dynamo.send(command as never));
    const big = item(0, { blob: 'x'.repeat(400 * 1024) });
    expect(await send(new PutCommand({ TableName: TableName(), Item: big }))).toBe('ValidationException');
    const writes = (n: number) => Array.from({ length: n }, (_, i) => ({ PutRequest: { Item: item(i) } }));
    const batch = (n: number) => new BatchWriteCommand({ RequestItems: { [TableName()]: writes(n) } });
    expect(await send(batch(25))).toBeUndefined();
    expect(await send(batch(26))).toBe('ValidationException');
    const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ PK: 'LIMITS', SK: `ITEM#${i}` }));
    const get = (n: number) => new BatchGetCommand({ RequestItems: { [TableName()]: { Keys: keys(n) } } });
    expect(await send(get(100))).toBeUndefined();
    expect(await send(get(101))).toBe('ValidationException');
    const put = (i: number) => ({ Put: { TableName: TableName(), Item: item(1000 + i) } });
    const transaction = (n: number) =>
      new TransactWriteCommand({ TransactItems: Array.from({ length: n }, (_, i) => put(i)) });
    expect(await send(transaction(100))).toBeUndefined();
    expect(await send(transaction(101))).toBe('ValidationException');
  });

  it("the bench's in-memory stand-in refuses the same item, BatchGetItem and transaction sizes", async () => {
    const dynamo = memoryDynamo();
    const big = item(0, { blob: 'x'.repeat(400 * 1024) });
    expect(await refusal(dynamo.send(new PutCommand({ TableName: 't', Item: big })))).toBe('ValidationException');
    const keys = Array.from({ length: 101 }, (_, i) => ({ PK: 'LIMITS', SK: `ITEM#${i}` }));
    const get = new BatchGetCommand({ RequestItems: { t: { Keys: keys } } });
    expect(await refusal(dynamo.send(get))).toBe('ValidationException');
    const puts = Array.from({ length: 101 }, (_, i) => ({ Put: { TableName: 't', Item: item(i) } }));
    expect(await refusal(dynamo.send(new TransactWriteCommand({ TransactItems: puts })))).toBe('ValidationException');
  });
});

describe('the runtime stays within them', () => {
  it('deletes a user with far more items than one BatchWriteItem takes (60 sessions, 60 jobs)', async () => {
    const user = await t.onboard();
    const PK = `USER#${user.userId}`;
    const extra = [
      ...Array.from({ length: 60 }, (_, i) => ({ PK, SK: `SESSION#extra-${i}`, revoked: true })),
      ...Array.from({ length: 60 }, (_, i) => ({ PK, SK: `JOB#${crypto.randomUUID()}`, n: i })),
    ];
    for (let i = 0; i < extra.length; i += 25) {
      const RequestItems = { [TableName()]: extra.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
      await t.deps.dynamo.send(new BatchWriteCommand({ RequestItems }));
    }
    const deleted = await t.request('DELETE', '/api/v1/user/profile', { token: user.accessToken });
    expect(deleted.status).toBe(204);
    expect((await t.rawItems()).filter((i) => i.PK === PK)).toEqual([]);
  });

  it("the api function times out before API Gateway's 29 s integration timeout", () => {
    // At 29 s API Gateway has answered 504 while the function may still be writing.
    const apiGatewayIntegrationTimeoutSeconds = 29;
    expect(functionSizes.api.timeout).toBeLessThan(apiGatewayIntegrationTimeoutSeconds);
  });
});

describe('API Gateway and Lambda payloads, through the Lambda entry with REST events', () => {
  const invoke = (event: object) =>
    t.runtime.handler(event, { awsRequestId: crypto.randomUUID() } as Context) as Promise<APIGatewayProxyResult>;
  /** Lambda's synchronous response limit: the whole answer as the function returns it. */
  const lambdaResponseBytes = 6 * 1024 * 1024;

  it('a body over 256 KiB is refused with 413 before parsing (API Gateway takes up to 10 MB), base64 too', async () => {
    const user = await t.onboard();
    const over = { givenName: 'x'.repeat(256 * 1024) };
    const plain = await invoke(restEvent('/api/v1/user/profile', user.accessToken, { method: 'PUT', body: over }));
    expect(plain.statusCode).toBe(413);
    expect(JSON.parse(plain.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    const event = restEvent('/api/v1/user/profile', user.accessToken, { method: 'PUT', body: over });
    const encoded = { ...event, body: Buffer.from(event.body!).toString('base64'), isBase64Encoded: true };
    expect((await invoke(encoded)).statusCode).toBe(413);
  });

  it('the largest result a job can have is answered within 6 MB (each string at its cap, escaped 6-fold)', async () => {
    const user = await t.onboard();
    const started = await t.request('POST', '/api/v1/process/upload', {
      token: user.accessToken,
      body: { contentType: 'text/plain', contentLength: 10 },
    });
    const { jobId } = started.body;
    // A control character is the most JSON spends on one character (\u0001), escaped again in Lambda's answer.
    const s = (n: number) => '\u0001'.repeat(n);
    const labResult = {
      testName: s(200),
      value: 1,
      valueText: s(200),
      unit: s(50),
      referenceRange: { low: 0, high: 1, text: s(200) },
      flag: 'normal',
    };
    const result = {
      documentType: 'lab_results',
      summary: s(4000),
      disclaimer: s(1000),
      labResults: Array.from({ length: 500 }, () => labResult),
      vitals: Array.from({ length: 200 }, () => ({ type: s(100), value: 1, unit: s(50) })),
    };
    const usage = { modelId: t.config.modelId, inputTokens: 1, outputTokens: 1 };
    const stored = StoredResult.parse({ type: 'document', result, usage });
    await createJobObjects(t.deps.s3, t.config.tempBucket).putResult(user.userId, jobId, stored);
    const store = createJobStore(t.deps);
    await store.claim(user.userId, jobId);
    await store.complete(user.userId, jobId, usage);
    const answer = await invoke(restEvent(`/api/v1/process/result/${jobId}`, user.accessToken));
    expect(answer.statusCode).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(answer))).toBeLessThan(lambdaResponseBytes);
  });
});
