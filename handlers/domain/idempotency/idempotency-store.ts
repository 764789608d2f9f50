import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { itemKeys } from '../../../contract';
import type { Clock } from '../../core/clock';
import { transactWhileLive } from '../users/live-account';
import { unlessConditionFails } from '../../core/conditions';

/** A retry with the same key within this window returns the first answer; after it, the key is new again. */
const RECORD_TTL_SECONDS = 24 * 3600;
/** A first request that has not finished in this long (it crashed) no longer blocks its retries. */
const LOCK_SECONDS = 30;

/**
 * The first answer as kept: its body, or — where the answer holds short-lived grants (a presigned
 * upload) — only what the route makes it from again (`answerFrom`, the job's id).
 */
export type StoredResponse = { status: number; body: string } | { status: number; answerFrom: { jobId: string } };

export type Claim =
  | { kind: 'claimed'; attempt: string }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; response: StoredResponse };

/**
 * Idempotency records, under the user (`SK = IDEMPOTENCY#<key>`), so account deletion takes them
 * with everything else. A record keeps a keyed digest of the request (never the request) and, once
 * the first answer is given, that answer — ids, never content nor credentials. Each claim is an
 * attempt of its own: only the attempt holding the record completes or releases it, so a first
 * attempt that outlived its lock cannot touch its retry's claim, and a record deleted with its
 * account is not written again.
 */
export function createIdempotencyStore(deps: { dynamo: DynamoDBDocumentClient; table: string; clock: Clock }) {
  const { dynamo, table, clock } = deps;
  const key = itemKeys.idempotency;
  const now = () => Math.floor(clock.now().getTime() / 1000);
  /** This attempt still holds the record, running. */
  const held = {
    ConditionExpression: 'attempt = :attempt AND #status = :running',
    names: { '#status': 'status' },
    values: (attempt: string) => ({ ':attempt': attempt, ':running': 'in_progress' }),
  };

  return {
    /** Takes the key for this request, or says why not: running, another request's, or already answered. */
    async claim(userId: string, idempotencyKey: string, digest: string): Promise<Claim> {
      const seconds = now();
      const attempt = randomUUID();
      const record = {
        Put: {
          TableName: table,
          Item: {
            ...key(userId, idempotencyKey),
            entity: 'idempotency',
            digest,
            attempt,
            status: 'in_progress',
            lock_expires: seconds + LOCK_SECONDS,
            ttl: seconds + RECORD_TTL_SECONDS,
          },
          // A crashed first attempt's lock lapses; an answered one is kept for its 24 h (DynamoDB
          // deletes expired items only eventually, so an expired one is taken as absent).
          ConditionExpression:
            'attribute_not_exists(PK) OR #ttl <= :now ' +
            'OR (#status = :running AND lock_expires < :now AND digest = :digest)',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':running': 'in_progress', ':now': seconds, ':digest': digest },
        },
      };
      const cancelled = await transactWhileLive(dynamo, table, userId, { record });
      if (!cancelled) return { kind: 'claimed', attempt };
      const reason = cancelled.reasons.record;
      if (reason !== 'ConditionalCheckFailed' && reason !== 'TransactionConflict') throw cancelled.error;
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table, Key: key(userId, idempotencyKey), ConsistentRead: true }),
      );
      // Gone or expired in between: another attempt is taking the key.
      if (!Item || Item.ttl <= seconds) return { kind: 'in_progress' };
      if (Item.digest !== digest) return { kind: 'mismatch' };
      if (Item.status === 'completed') return { kind: 'completed', response: Item.response as StoredResponse };
      return { kind: 'in_progress' };
    },

    /** Keeps the first answer, if this attempt still holds the record (not deleted with the account nor taken over). */
    async complete(userId: string, idempotencyKey: string, attempt: string, response: StoredResponse): Promise<void> {
      await unlessConditionFails(
        dynamo.send(
          new UpdateCommand({
            TableName: table,
            Key: key(userId, idempotencyKey),
            UpdateExpression: 'SET #status = :done, #response = :response REMOVE lock_expires',
            ConditionExpression: held.ConditionExpression,
            ExpressionAttributeNames: { ...held.names, '#response': 'response' },
            ExpressionAttributeValues: { ...held.values(attempt), ':done': 'completed', ':response': response },
          }),
        ),
        undefined,
      );
    },

    /** The attempt failed: a retry may run it again (unless a later attempt holds the key by now). */
    async release(userId: string, idempotencyKey: string, attempt: string): Promise<void> {
      await unlessConditionFails(
        dynamo.send(
          new DeleteCommand({
            TableName: table,
            Key: key(userId, idempotencyKey),
            ConditionExpression: held.ConditionExpression,
            ExpressionAttributeNames: held.names,
            ExpressionAttributeValues: held.values(attempt),
          }),
        ),
        undefined,
      );
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
