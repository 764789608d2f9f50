import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../clock';
import type { SubscriptionEvent } from './subscription-event';

export type ApplyOutcome = 'applied' | 'recorded' | 'duplicate' | 'stale' | 'unknown_user';

const NOTIFICATION_TTL_SECONDS = 90 * 24 * 3600;

/**
 * Applies verified store notifications to the subscription embedded in the user item, exactly
 * once (a marker item per notification id) and in the store's own order (a notification older
 * than the state it would replace only leaves its marker).
 */
export function createSubscriptionStore(deps: { dynamo: DynamoDBDocumentClient; table: string; clock: Clock }) {
  const { dynamo, table, clock } = deps;
  const profileKey = (userId: string) => ({ PK: `USER#${userId}`, SK: 'PROFILE' });

  return {
    async apply(event: SubscriptionEvent): Promise<ApplyOutcome> {
      if (!event.userId) return 'unknown_user';
      const now = clock.now();
      const marker = {
        PK: `USER#${event.userId}`,
        SK: `NOTIFICATION#${event.provider}#${event.notificationId}`,
        entity: 'store_notification',
        provider: event.provider,
        kind: event.kind,
        event_time: event.eventTime,
        received_at: now.toISOString(),
        ttl: Math.floor(now.getTime() / 1000) + NOTIFICATION_TTL_SECONDS,
      };
      const putMarker = { Put: { TableName: table, Item: marker, ConditionExpression: 'attribute_not_exists(PK)' } };
      const change = event.state
        ? {
            Update: {
              TableName: table,
              Key: profileKey(event.userId),
              ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(current_subscription.event_time) OR current_subscription.event_time < :time)',
              UpdateExpression: 'SET current_subscription = :subscription',
              ExpressionAttributeValues: {
                ':time': event.eventTime,
                ':subscription': {
                  type: event.state.type,
                  status: event.state.status,
                  provider: event.provider,
                  purchase_reference_hash: createHash('sha256').update(event.state.purchaseReference).digest('hex'),
                  event_time: event.eventTime,
                  updated_at: now.toISOString(),
                  ...(event.state.expiresAt ? { expires_at: event.state.expiresAt } : {}),
                },
              },
            },
          }
        : { ConditionCheck: { TableName: table, Key: profileKey(event.userId), ConditionExpression: 'attribute_exists(PK)' } };
      try {
        await dynamo.send(new TransactWriteCommand({ TransactItems: [putMarker, change] }));
        return event.state ? 'applied' : 'recorded';
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const [markerReason, changeReason] = (err.CancellationReasons ?? []).map((r) => r.Code);
        if (markerReason === 'ConditionalCheckFailed') return 'duplicate';
        if (changeReason !== 'ConditionalCheckFailed') throw err;
        const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: profileKey(event.userId), ProjectionExpression: 'PK', ConsistentRead: true }));
        if (!Item) return 'unknown_user';
        // Older than what the user has: keep the marker so a replay is a duplicate, change nothing.
        await dynamo.send(new PutCommand(putMarker.Put)).catch((e) => {
          if (!(e instanceof ConditionalCheckFailedException)) throw e;
        });
        return 'stale';
      }
    },
  };
}

