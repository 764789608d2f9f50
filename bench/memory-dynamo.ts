import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * An in-memory stand-in for the DynamoDB document client, for the warm-handler bench only: the
 * same reads for both contenders with no I/O, so the figures compare the code paths alone.
 */
export function memoryDynamo(): DynamoDBDocumentClient & { items: Map<string, Record<string, any>> } {
  const items = new Map<string, Record<string, any>>();
  const key = (k: { PK: string; SK: string }) => `${k.PK}|${k.SK}`;
  const put = (item: Record<string, any>) => items.set(key(item as { PK: string; SK: string }), structuredClone(item));
  const send = async (command: { constructor: { name: string }; input: any }) => {
    const input = command.input;
    switch (command.constructor.name) {
      case 'GetCommand':
        return { Item: structuredClone(items.get(key(input.Key))) };
      case 'BatchGetCommand': {
        const [[table, { Keys }]] = Object.entries(input.RequestItems as Record<string, { Keys: Array<{ PK: string; SK: string }> }>) as [[string, { Keys: Array<{ PK: string; SK: string }> }]];
        return { Responses: { [table]: Keys.flatMap((k) => (items.has(key(k)) ? [structuredClone(items.get(key(k))!)] : [])) } };
      }
      case 'PutCommand':
        put(input.Item);
        return {};
      case 'TransactWriteCommand':
        for (const t of input.TransactItems) if (t.Put) put(t.Put.Item);
        return {};
      default:
        throw new Error(`memoryDynamo does not do ${command.constructor.name}`);
    }
  };
  return { send, items } as unknown as DynamoDBDocumentClient & { items: Map<string, Record<string, any>> };
}
