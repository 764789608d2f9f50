import { createHash } from 'node:crypto';
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../clock';
import { itemKeys } from '../../contract';
import { cancellationReasons } from '../conditions';
import { liveProfileCheck } from '../users/live-profile';
import type { SubscriptionEvent } from './subscription-event';

export type ApplyOutcome = 'applied' | 'recorded' | 'duplicate' | 'stale' | 'unknown_user' | 'other_purchase';

const NOTIFICATION_TTL_SECONDS = 90 * 24 * 3600;

/**
 * Applies verified store notifications to the subscription embedded in the user item, exactly
 * once (a marker item per notification id), in the store's own order (a notification older than
 * the state it would replace only leaves its marker), and bound to the purchase: only the purchase
 * the user's subscription came from can end or downgrade it (a refund of some other purchase that
 * names this user changes nothing); a purchase that makes the user premium replaces it.
 */
export function createSubscriptionStore(deps: { dynamo: DynamoDBDocumentClient; table: string; clock: Clock }) {
  const { dynamo, table, clock } = deps;
  const purchaseHash = (reference: string) => createHash('sha256').update(reference).digest('hex');

  async function userOf(accountToken: string | undefined): Promise<string | undefined> {
    if (!accountToken) return undefined;
    const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: itemKeys.storeAccount(accountToken), ConsistentRead: true }));
    return Item?.user_id as string | undefined;
  }

  return {
    async apply(event: SubscriptionEvent): Promise<ApplyOutcome> {
      const userId = await userOf(event.accountToken);
      if (!userId) return 'unknown_user';
      const now = clock.now();
      const marker = {
        ...itemKeys.storeNotification(userId, event.provider, event.notificationId),
        entity: 'store_notification',
        provider: event.provider,
        kind: event.kind,
        event_time: event.eventTime,
        received_at: now.toISOString(),
        ttl: Math.floor(now.getTime() / 1000) + NOTIFICATION_TTL_SECONDS,
      };
      const putMarker = { Put: { TableName: table, Item: marker, ConditionExpression: 'attribute_not_exists(PK)' } };
      // No marker and no change for an account being deleted (`live-profile.ts`): it would outlive the deletion.
      const liveProfile = liveProfileCheck(table, userId).ConditionCheck.ConditionExpression;
      const newer = '(attribute_not_exists(current_subscription.event_time) OR current_subscription.event_time < :time)';
      // Ending or downgrading needs the purchase the subscription came from.
      const samePurchase = '(attribute_not_exists(current_subscription.purchase_reference_hash) OR current_subscription.purchase_reference_hash = :purchase)';
      const upgrades = event.state?.status === 'active';
      const change = event.state
        ? {
            Update: {
              TableName: table,
              Key: itemKeys.profile(userId),
              ConditionExpression: `${liveProfile} AND ${newer}${upgrades ? '' : ` AND ${samePurchase}`}`,
              UpdateExpression: 'SET current_subscription = :subscription',
              ExpressionAttributeValues: {
                ':time': event.eventTime,
                ...(upgrades ? {} : { ':purchase': purchaseHash(event.state.purchaseReference) }),
                ':subscription': {
                  type: event.state.type,
                  status: event.state.status,
                  provider: event.provider,
                  purchase_reference_hash: purchaseHash(event.state.purchaseReference),
                  event_time: event.eventTime,
                  updated_at: now.toISOString(),
                  ...(event.state.expiresAt ? { expires_at: event.state.expiresAt } : {}),
                },
              },
            },
          }
        : liveProfileCheck(table, userId);
      try {
        await dynamo.send(new TransactWriteCommand({ TransactItems: [putMarker, change] }));
        return event.state ? 'applied' : 'recorded';
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = cancellationReasons(['marker', 'change'], err);
        if (reasons.marker === 'ConditionalCheckFailed') return 'duplicate';
        if (reasons.change !== 'ConditionalCheckFailed') throw err;
        const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: itemKeys.profile(userId), ProjectionExpression: 'PK, current_subscription, deleting_at', ConsistentRead: true }));
        if (!Item || Item.deleting_at) return 'unknown_user';
        const current = Item.current_subscription as { event_time?: number } | undefined;
        // Refused: keep the marker so a replay is a duplicate, change nothing — while the account
        // lives, so no marker outlives its deletion.
        const kept = await dynamo.send(new TransactWriteCommand({ TransactItems: [putMarker, liveProfileCheck(table, userId)] })).then(
          () => true,
          (e: unknown) => {
            if (!(e instanceof TransactionCanceledException)) throw e;
            return cancellationReasons(['marker', 'profile'], e).profile === undefined;
          },
        );
        if (!kept) return 'unknown_user';
        return current?.event_time !== undefined && current.event_time >= event.eventTime ? 'stale' : 'other_purchase';
      }
    },
  };
}

