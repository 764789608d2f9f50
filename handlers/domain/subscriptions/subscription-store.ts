import { createHash } from 'node:crypto';
import { GetCommand, paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../../core/clock';
import { itemKeys } from '../../../contract';
import { afterConflict, again, retrying } from '../../core/dynamo-retry';
import { ContentionError } from '../../core/errors';
import { transact } from '../../core/transaction';
import { transactWhileLive } from '../users/live-account';
import { AccountClosedError, liveProfileCheck } from '../users/live-profile';
import { planOf, type PurchaseState } from './purchase-plan';
import type { SubscriptionEvent } from './subscription-event';

export type ApplyOutcome = 'applied' | 'recorded' | 'duplicate' | 'stale' | 'unknown_user';

const NOTIFICATION_TTL_SECONDS = 90 * 24 * 3600;

/** What `current_subscription` held before purchases had items: the one purchase it came from. */
interface LegacySummary {
  revision?: number;
  purchase_reference_hash?: string;
}

/**
 * Applies verified store notifications exactly once (a marker item per notification id), per
 * purchase: each purchase naming the user (by its store account token) keeps its own state in its
 * own item (`itemKeys.purchase`), in the store's own order for that purchase (a notification older
 * than the purchase's state only leaves its marker). One purchase's refund or expiry ends that
 * purchase alone; the user's plan is derived from all of them (`purchase-plan.ts`) and kept on the
 * user item as `current_subscription`, written in the same transaction as the purchase, so reading
 * it stays one round trip. The summary's `revision` makes that derivation safe when notifications
 * of several purchases race: a write whose reading of the purchases is out of date is retried.
 */
export function createSubscriptionStore(deps: { dynamo: DynamoDBDocumentClient; table: string; clock: Clock }) {
  const { dynamo, table, clock } = deps;
  const purchaseHash = (reference: string) => createHash('sha256').update(reference).digest('hex');

  async function userOf(accountToken: string | undefined): Promise<string | undefined> {
    if (!accountToken) return undefined;
    const key = itemKeys.storeAccount(accountToken);
    const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    return Item?.user_id as string | undefined;
  }

  /**
   * The plan's revision, then every purchase, in this order: a revision still current when the
   * write commits means no purchase changed since it was read.
   */
  async function purchasesOf(userId: string) {
    const profile = new GetCommand({
      TableName: table,
      Key: itemKeys.profile(userId),
      ProjectionExpression: 'PK, current_subscription, deleting_at',
      ConsistentRead: true,
    });
    const { Item } = await dynamo.send(profile);
    if (!Item || Item.deleting_at) return undefined;
    const summary = Item.current_subscription as (Partial<PurchaseState> & LegacySummary) | undefined;
    const revision = summary?.revision;
    const purchases: Array<PurchaseState & { SK: string }> = [];
    const pages = paginateQuery(
      { client: dynamo },
      {
        TableName: table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :purchase)',
        ExpressionAttributeValues: { ':pk': itemKeys.userPartition(userId), ':purchase': itemKeys.purchasePrefix },
        ProjectionExpression: 'SK, provider, #status, expires_at, event_time',
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) purchases.push(...((page.Items ?? []) as Array<PurchaseState & { SK: string }>));
    // Written before purchases had items, the summary was one purchase's state: carried over as its item.
    const legacyHash = revision === undefined ? summary?.purchase_reference_hash : undefined;
    const legacySK = legacyHash && itemKeys.purchase(userId, legacyHash).SK;
    if (!legacySK || purchases.some((p) => p.SK === legacySK)) return { revision, purchases };
    const { provider, status, expires_at, event_time } = summary as PurchaseState;
    const legacy = { SK: legacySK, provider, status, event_time, ...(expires_at ? { expires_at } : {}) };
    return { revision, purchases: [...purchases, legacy], legacy };
  }

  /** Writes the marker alone (while the account lives): `outcome`, or a duplicate, or the user is gone. */
  async function markerOnly(putMarker: object, userId: string, outcome: ApplyOutcome): Promise<ApplyOutcome> {
    try {
      const cancelled = await transactWhileLive(dynamo, table, userId, { marker: putMarker });
      if (!cancelled) return outcome;
      if (cancelled.reasons.marker === 'ConditionalCheckFailed') return 'duplicate';
      throw cancelled.error;
    } catch (err) {
      if (err instanceof AccountClosedError) return 'unknown_user';
      throw err;
    }
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
      // No marker and no change for an account being deleted (`live-profile.ts`): it would outlive the deletion.
      const putMarker = { Put: { TableName: table, Item: marker, ConditionExpression: 'attribute_not_exists(PK)' } };
      if (!event.state) return markerOnly(putMarker, userId, 'recorded');

      const key = itemKeys.purchase(userId, purchaseHash(event.state.purchaseReference));
      const updatedAt = now.toISOString();
      const bookkeeping = { entity: 'purchase', updated_at: updatedAt };
      const purchase: PurchaseState = {
        provider: event.provider,
        status: event.state.status,
        event_time: event.eventTime,
        ...(event.state.expiresAt ? { expires_at: event.state.expiresAt } : {}),
      };
      const exhausted = () =>
        new ContentionError('The purchases of this account kept changing while a notification was applied');
      return retrying(afterConflict, exhausted, async (): Promise<ApplyOutcome | typeof again> => {
        const read = await purchasesOf(userId);
        if (!read) return 'unknown_user';
        const current = read.purchases.find((p) => p.SK === key.SK);
        // The store's order, per purchase: an older notification of this purchase changes nothing.
        if (current && current.event_time >= event.eventTime) return markerOnly(putMarker, userId, 'stale');
        const plan = planOf([...read.purchases.filter((p) => p !== current), purchase])!;
        const revised =
          read.revision === undefined
            ? 'attribute_not_exists(current_subscription.revision)'
            : 'current_subscription.revision = :revision';
        const live = liveProfileCheck(table, userId).ConditionCheck.ConditionExpression;
        // The purchase an old summary held is written as its item, unless this notification writes it.
        const carried = read.legacy?.SK === key.SK ? undefined : read.legacy;
        const cancelled = await transact(dynamo, {
          marker: putMarker,
          purchase: { Put: { TableName: table, Item: { ...key, ...purchase, ...bookkeeping } } },
          profile: {
            Update: {
              TableName: table,
              Key: itemKeys.profile(userId),
              ConditionExpression: `${live} AND ${revised}`,
              UpdateExpression: 'SET current_subscription = :plan',
              ExpressionAttributeValues: {
                ':plan': { ...plan, revision: (read.revision ?? 0) + 1, updated_at: updatedAt },
                ...(read.revision === undefined ? {} : { ':revision': read.revision }),
              },
            },
          },
          carried: carried && { Put: { TableName: table, Item: { PK: key.PK, ...carried, ...bookkeeping } } },
        });
        if (!cancelled) return 'applied';
        const { reasons } = cancelled;
        if (reasons.marker === 'ConditionalCheckFailed') return 'duplicate';
        const raced = Object.values(reasons).every(
          (r) => !r || r === 'ConditionalCheckFailed' || r === 'TransactionConflict',
        );
        if (!raced) throw cancelled.error;
        // Another notification of this user's purchases (or the deletion fence) came first: read again.
        return again;
      });
    },
  };
}
