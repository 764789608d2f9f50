import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterThrottling, again, retrying } from './dynamo-retry';

/** DynamoDB's limit of requests in one `BatchWriteItem`. */
const BATCH_WRITE_LIMIT = 25;

/**
 * Deletes the keys in batches, in their order (a batch is written only once the one before it is
 * done), retrying whatever DynamoDB leaves unprocessed.
 */
export async function deleteKeys(
  dynamo: DynamoDBDocumentClient,
  table: string,
  keys: Array<Record<string, unknown>>,
  what: string,
): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH_WRITE_LIMIT) {
    let requests = keys.slice(i, i + BATCH_WRITE_LIMIT).map((Key) => ({ DeleteRequest: { Key } }));
    await retrying(
      afterThrottling,
      () => new Error(`DynamoDB kept items unprocessed while ${what}`),
      async () => {
        const out = await dynamo.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
        return requests.length ? again : undefined;
      },
    );
  }
}
