import { BatchGetCommand, BatchWriteCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryDynamo } from '../bench/memory-dynamo';
import { functionSizes } from '../components/platform-functions';
import { createTestPlatform, type TestPlatform } from './support/test-platform';

let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(() => t.stop());

const TableName = () => t.config.usersTable;
const item = (i: number, extra: Record<string, unknown> = {}) => ({ PK: 'LIMITS', SK: `ITEM#${i}`, ...extra });
const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (err: Error) => err.name);

describe('DynamoDB Local refuses what DynamoDB refuses (the offline table is the real engine)', () => {
  it('an item over 400 KB, a BatchWriteItem over 25, a BatchGetItem over 100 keys, a transaction over 100', async () => {
    const big = item(0, { blob: 'x'.repeat(400 * 1024) });
    expect(await refusal(t.deps.dynamo.send(new PutCommand({ TableName: TableName(), Item: big })))).toBe('ValidationException');
    const writes = (n: number) => Array.from({ length: n }, (_, i) => ({ PutRequest: { Item: item(i) } }));
    const batch = (n: number) => new BatchWriteCommand({ RequestItems: { [TableName()]: writes(n) } });
    expect(await refusal(t.deps.dynamo.send(batch(25)))).toBeUndefined();
    expect(await refusal(t.deps.dynamo.send(batch(26)))).toBe('ValidationException');
    const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ PK: 'LIMITS', SK: `ITEM#${i}` }));
    const get = (n: number) => new BatchGetCommand({ RequestItems: { [TableName()]: { Keys: keys(n) } } });
    expect(await refusal(t.deps.dynamo.send(get(100)))).toBeUndefined();
    expect(await refusal(t.deps.dynamo.send(get(101)))).toBe('ValidationException');
    const puts = (n: number) => Array.from({ length: n }, (_, i) => ({ Put: { TableName: TableName(), Item: item(1000 + i) } }));
    expect(await refusal(t.deps.dynamo.send(new TransactWriteCommand({ TransactItems: puts(100) })))).toBeUndefined();
    expect(await refusal(t.deps.dynamo.send(new TransactWriteCommand({ TransactItems: puts(101) })))).toBe('ValidationException');
  });

  it("the bench's in-memory stand-in refuses the same item, BatchGetItem and transaction sizes", async () => {
    const dynamo = memoryDynamo();
    const big = item(0, { blob: 'x'.repeat(400 * 1024) });
    expect(await refusal(dynamo.send(new PutCommand({ TableName: 't', Item: big })))).toBe('ValidationException');
    const keys = Array.from({ length: 101 }, (_, i) => ({ PK: 'LIMITS', SK: `ITEM#${i}` }));
    expect(await refusal(dynamo.send(new BatchGetCommand({ RequestItems: { t: { Keys: keys } } })))).toBe('ValidationException');
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
      ...Array.from({ length: 60 }, (_, i) => ({ PK, SK: `JOB#00000000-0000-4000-8000-${String(i).padStart(12, '0')}` })),
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
