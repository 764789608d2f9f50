import { itemKeys } from '../../../contract';
import { DomainError } from '../../core/errors';

/**
 * The deletion fence. `DELETE /user/profile` first marks the profile `deleting_at`; every write
 * that creates state for a user (a job reservation, a session at sign-in or refresh) carries this
 * check in its own transaction, so nothing new appears between "delete the user's objects" and
 * "delete the user's items", whatever the interleaving.
 */
export class AccountClosedError extends DomainError {
  override name = 'AccountClosedError';
}

/** A transaction item that holds only while the user exists and is not being deleted. */
export const liveProfileCheck = (table: string, userId: string) => ({
  ConditionCheck: {
    TableName: table,
    Key: itemKeys.profile(userId),
    ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(deleting_at)',
  },
});
