import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { transact, type Cancelled } from '../../core/transaction';
import { AccountClosedError, liveProfileCheck } from './live-profile';

/**
 * Writes the named items in one transaction that holds only while the account is live (the deletion
 * fence, `live-profile.ts`, as its last item). Throws `AccountClosedError` when the account is gone
 * or being deleted, whatever else failed; undefined when written; else what cancelled it, by name.
 */
export async function transactWhileLive<N extends string>(
  dynamo: DynamoDBDocumentClient,
  table: string,
  userId: string,
  items: { [K in N]?: object },
): Promise<Cancelled<N | 'profile'> | undefined> {
  const cancelled = await transact(dynamo, { ...items, profile: liveProfileCheck(table, userId) });
  if (cancelled?.reasons.profile === 'ConditionalCheckFailed') {
    throw new AccountClosedError('The account is gone or being deleted');
  }
  return cancelled;
}
