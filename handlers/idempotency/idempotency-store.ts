import { DeleteCommand, GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { itemKeys } from '../../contract';
import type { Clock } from '../clock';
import { AccountClosedError, liveProfileCheck } from '../users/live-profile';
import { cancellationReasons } from '../conditions';

/** A retry with the same key within this window returns the first answer. */
const RECORD_TTL_SECONDS = 24 * 3600;
/** A first request that has not finished in this long (it crashed) no longer blocks its retries. */
const LOCK_SECONDS = 30;

export interface StoredResponse {
  status: number;
  body: string;
}

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; response: StoredResponse };

/**
 * Idempotency records, under the user (`SK = IDEMPOTENCY#<key>`), so account deletion takes them
 * with everything else. A record keeps a keyed digest of the request (never the request) and, once
 * the first answer is given, that answer — ids and presigned upload fields, never content.
 */
export function createIdempotencyStore(deps: { dynamo: DynamoDBDocumentClient; table: string; clock: Clock }) {
  const { dynamo, table, clock } = deps;
  const key = itemKeys.idempotency;
  const now = () => Math.floor(clock.now().getTime() / 1000);

  return {
    /** Takes the key for this request, or says why not: running, another request's, or already answered. */
    async claim(userId: string, idempotencyKey: string, digest: string): Promise<Claim> {
      const seconds = now();
      try {
        await dynamo.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: table,
                  Item: { ...key(userId, idempotencyKey), entity: 'idempotency', digest, status: 'in_progress', lock_expires: seconds + LOCK_SECONDS, ttl: seconds + RECORD_TTL_SECONDS },
                  // A crashed first attempt's lock lapses; an answered one is kept.
                  ConditionExpression: 'attribute_not_exists(PK) OR (#status = :running AND lock_expires < :now AND digest = :digest)',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: { ':running': 'in_progress', ':now': seconds, ':digest': digest },
                },
              },
              liveProfileCheck(table, userId),
            ],
          }),
        );
        return { kind: 'claimed' };
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = cancellationReasons(['record', 'profile'], err);
        if (reasons.profile === 'ConditionalCheckFailed') throw new AccountClosedError('The account is gone or being deleted');
        if (reasons.record !== 'ConditionalCheckFailed' && reasons.record !== 'TransactionConflict') throw err;
      }
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: key(userId, idempotencyKey), ConsistentRead: true }));
      if (!Item) return { kind: 'in_progress' };
      if (Item.digest !== digest) return { kind: 'mismatch' };
      if (Item.status === 'completed') return { kind: 'completed', response: Item.response as StoredResponse };
      return { kind: 'in_progress' };
    },

    async complete(userId: string, idempotencyKey: string, response: StoredResponse): Promise<void> {
      await dynamo.send(
        new UpdateCommand({
          TableName: table,
          Key: key(userId, idempotencyKey),
          UpdateExpression: 'SET #status = :done, #response = :response REMOVE lock_expires',
          ExpressionAttributeNames: { '#status': 'status', '#response': 'response' },
          ExpressionAttributeValues: { ':done': 'completed', ':response': response },
        }),
      );
    },

    /** The first attempt failed: a retry may run it again. */
    async release(userId: string, idempotencyKey: string): Promise<void> {
      await dynamo.send(new DeleteCommand({ TableName: table, Key: key(userId, idempotencyKey) }));
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
