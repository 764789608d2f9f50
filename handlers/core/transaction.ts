import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cancellationReasons } from './conditions';

/** A transaction DynamoDB cancelled: each item's reason by the item's name, and the error to rethrow. */
export interface Cancelled<N extends string> {
  reasons: Record<N, string | undefined>;
  error: TransactionCanceledException;
}

/**
 * Writes the named items in one transaction, in their order (an item left undefined is not written).
 * Undefined when it was written; what cancelled it, item by item, when a condition or a conflict did.
 * Any other error is thrown.
 */
export async function transact<N extends string>(
  dynamo: DynamoDBDocumentClient,
  items: { [K in N]?: object },
): Promise<Cancelled<N> | undefined> {
  const names = (Object.keys(items) as N[]).filter((name) => items[name] !== undefined);
  try {
    await dynamo.send(new TransactWriteCommand({ TransactItems: names.map((name) => items[name]!) }));
    return undefined;
  } catch (err) {
    if (!(err instanceof TransactionCanceledException)) throw err;
    return { reasons: cancellationReasons(names, err), error: err };
  }
}
