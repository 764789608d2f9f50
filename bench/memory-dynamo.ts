import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** DynamoDB's limits for what this stand-in does (DynamoDB Developer Guide: "Quotas"). */
const dynamoLimits = { itemBytes: 400 * 1024, batchGetKeys: 100, transactItems: 100 } as const;

/** DynamoDB's own refusal, so that the bench cannot pass a request DynamoDB would refuse. */
function refuse(message: string): never {
  throw Object.assign(new Error(message), { name: 'ValidationException' });
}

/** An item's size, near enough: its names and values as JSON in UTF-8 (DynamoDB counts a little less). */
function checkItemSize(item: Record<string, any>) {
  if (Buffer.byteLength(JSON.stringify(item)) > dynamoLimits.itemBytes) {
    refuse('Item size has exceeded the maximum allowed size');
  }
}

/**
 * An in-memory stand-in for the DynamoDB document client, for the warm-handler bench only: the
 * same reads for both contenders with no I/O, so the figures compare the code paths alone. It
 * refuses an item over 400 KB, a BatchGet over 100 keys and a transaction over 100 items as
 * DynamoDB does; it does no BatchWrite at all (the bench deletes nothing).
 */
export function memoryDynamo(): DynamoDBDocumentClient & { items: Map<string, Record<string, any>> } {
  const items = new Map<string, Record<string, any>>();
  const key = (k: { PK: string; SK: string }) => `${k.PK}|${k.SK}`;
  const put = (item: Record<string, any>) => {
    checkItemSize(item);
    items.set(key(item as { PK: string; SK: string }), structuredClone(item));
  };
  const send = async (command: { constructor: { name: string }; input: any }) => {
    const input = command.input;
    switch (command.constructor.name) {
      case 'GetCommand':
        return { Item: structuredClone(items.get(key(input.Key))) };
      case 'BatchGetCommand': {
        const [[table, { Keys }]] = Object.entries(
          input.RequestItems as Record<string, { Keys: Array<{ PK: string; SK: string }> }>,
        ) as [[string, { Keys: Array<{ PK: string; SK: string }> }]];
        if (Keys.length > dynamoLimits.batchGetKeys) refuse('Too many items requested for the BatchGetItem call');
        return {
          Responses: { [table]: Keys.flatMap((k) => (items.has(key(k)) ? [structuredClone(items.get(key(k))!)] : [])) },
        };
      }
      case 'PutCommand':
        put(input.Item);
        return {};
      case 'TransactWriteCommand':
        if (input.TransactItems.length > dynamoLimits.transactItems) {
          refuse('Member must have length less than or equal to 100');
        }
        for (const t of input.TransactItems) if (t.Put) put(t.Put.Item);
        return {};
      default:
        throw new Error(`memoryDynamo does not do ${command.constructor.name}`);
    }
  };
  return { send, items } as unknown as DynamoDBDocumentClient & { items: Map<string, Record<string, any>> };
}
