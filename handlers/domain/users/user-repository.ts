import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  GetCommand,
  paginateQuery,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from '../../core/conditions';
import { deleteKeys } from '../../core/batch-write';
import { afterConflict, again, retrying } from '../../core/dynamo-retry';
import { ContentionError, DomainError } from '../../core/errors';
import { transact } from '../../core/transaction';
import { itemKeys } from '../../../contract';
import type { Clock } from '../../core/clock';
import type { ExternalIdentity, Provider } from '../identity/id-tokens';
import type { NewSession } from '../sessions/session-store';
import { normalizeEmail, type EmailMac } from './email-mac';
import type { PiiCipher } from './pii-cipher';
import {
  changedFields,
  legacyAttributes,
  personalOf,
  profileFrom,
  storedConsents,
  storedDevice,
  subscriptionOf,
  withChanges,
  type Consent,
  type Device,
  type PersonalFields,
  type Profile,
  type ProfileUpdate,
} from './profile-item';

export class UserExistsError extends DomainError {
  override name = 'UserExistsError';
}

const userKey = itemKeys.profile;
/**
 * The provider account's key in the guard item and GSI2: keyed by the HMAC, like the email index,
 * so the Google or Apple subject is stored nowhere (not in the table, its stream or its backups).
 */
export async function externalKey(emailMac: EmailMac, provider: Provider, subject: string): Promise<string> {
  return itemKeys.externalIndex(provider, await emailMac.mac(`external:${provider}:${subject}`));
}
const guardKey = itemKeys.externalAccount;

/**
 * Users in the single table (the items' contents: `profile-item.ts`). A profile's personal fields
 * are sealed together, as one message, before they are written; a user's provider account is
 * claimed by a guard item in the same transaction, so one provider account can become one user
 * only, however many requests race.
 */
export function createUserRepository(deps: {
  dynamo: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  pii: PiiCipher;
  emailMac: EmailMac;
}) {
  const { dynamo, table, clock, pii, emailMac } = deps;
  const now = () => clock.now().toISOString();
  const toProfile = async (item: Record<string, unknown>) => profileFrom(item, await personalOf(item, pii), now());

  /**
   * Changes a profile's personal fields: read, open, change, seal as one message, write back —
   * conditional on nothing else having written them meanwhile (retried), and rewriting a profile
   * of the per-attribute format in the one-message format. Undefined when the user is gone.
   */
  function rewrite(
    userId: string,
    change: (fields: PersonalFields) => PersonalFields,
    also: () => Promise<Record<string, unknown>>,
  ): Promise<Profile | undefined> {
    // Someone else wrote the profile since our read: read again after a pause, a few times; then
    // the client retries (409), as contention is no fault of ours.
    const exhausted = () => new ContentionError('The profile kept changing while it was being updated');
    return retrying(afterConflict, exhausted, async () => {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table, Key: userKey(userId), ConsistentRead: true }),
      );
      // An account being deleted is gone for writes.
      if (!Item || Item.deleting_at) return undefined;
      const before = await personalOf(Item, pii);
      const fields = change(before);
      const version = (Item.pii_version as number | undefined) ?? 0;
      // The audit trail names what changed inside the sealed message: names, never values.
      const set: Record<string, unknown> = {
        ...(await also()),
        pii: await pii.sealRecord(userId, fields),
        pii_version: version + 1,
        pii_changed: changedFields(before, fields),
      };
      const names = Object.keys(set);
      // The first format's attributes go; a device written anew carries no sealed id of its own.
      const remove = [
        ...legacyAttributes.map((a) => `#legacy_${a}`),
        ...('current_device' in set ? [] : ['current_device.device_id']),
      ];
      const unchanged = version
        ? 'pii_version = :version'
        : 'attribute_exists(PK) AND attribute_not_exists(pii_version)';
      const update = new UpdateCommand({
        TableName: table,
        Key: userKey(userId),
        ConditionExpression: `${unchanged} AND attribute_not_exists(deleting_at)`,
        // Names go through placeholders: `name` is a DynamoDB reserved word.
        UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')} REMOVE ${remove.join(', ')}`,
        ExpressionAttributeNames: {
          ...Object.fromEntries(names.map((n) => [`#${n}`, n])),
          ...Object.fromEntries(legacyAttributes.map((a) => [`#legacy_${a}`, a])),
        },
        ExpressionAttributeValues: {
          ...Object.fromEntries(names.map((n) => [`:${n}`, set[n]])),
          ...(version ? { ':version': version } : {}),
        },
        ReturnValues: 'ALL_NEW',
      });
      const written = await unlessConditionFails(dynamo.send(update), again);
      if (written === again) return again;
      return written.Attributes ? profileFrom(written.Attributes, fields, now()) : undefined;
    });
  }

  /** Every item of a partition, all pages (strongly consistent). */
  async function partition(pk: string, projection?: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    const pages = paginateQuery(
      { client: dynamo },
      {
        TableName: table,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ...(projection && { ProjectionExpression: projection }),
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items;
  }

  return {
    /** Creates the user, its provider guard and its first session in one transaction. */
    async register(input: {
      identity: ExternalIdentity;
      consents: Record<string, Consent>;
      device: Device;
      session: (userId: string) => Promise<NewSession>;
      /**
       * The token the stores' purchases name this account by: random, not the user id, and carrying
       * this zone's tag (`store-account-token.ts`) so a store notification finds its zone.
       */
      storeAccountToken: string;
      /** Sign in with Apple's refresh token, kept sealed so the account's deletion can revoke it. */
      appleRefreshToken?: string;
    }): Promise<{ profile: Profile; session: NewSession }> {
      const { identity } = input;
      const userId = randomUUID();
      const external = await externalKey(emailMac, identity.provider, identity.subject);
      const { storeAccountToken } = input;
      const createdAt = now();
      const fields: PersonalFields = {
        email: identity.email,
        ...(identity.name !== undefined && { name: identity.name }),
        ...(identity.givenName !== undefined && { given_name: identity.givenName }),
        ...(identity.familyName !== undefined && { family_name: identity.familyName }),
        device_id: input.device.deviceId,
      };
      const item = {
        ...userKey(userId),
        entity: 'user',
        id: userId,
        auth_provider: identity.provider,
        external_key: external,
        store_account_token: storeAccountToken,
        ...(input.appleRefreshToken && {
          apple_refresh_token: await pii.seal(userId, 'apple_refresh_token', input.appleRefreshToken),
          apple_client_id: identity.clientId,
        }),
        pii: await pii.sealRecord(userId, fields),
        pii_version: 1,
        consents: storedConsents(input.consents, createdAt),
        current_subscription: { type: 'free', status: 'active' },
        current_device: storedDevice(input.device),
        GSI1PK: itemKeys.emailIndex(await emailMac.mac(normalizeEmail(identity.email))),
        GSI1SK: itemKeys.userPartition(userId),
        GSI2PK: external,
        GSI2SK: itemKeys.userPartition(userId),
        created_at: createdAt,
        updated_at: createdAt,
      };
      const session = await input.session(userId);
      const guard = { ...guardKey(external), entity: 'external_account', user_id: userId, created_at: createdAt };
      const storeGuard = {
        ...itemKeys.storeAccount(storeAccountToken),
        entity: 'store_account',
        user_id: userId,
        created_at: createdAt,
      };
      const putNew = (Item: Record<string, unknown>) => ({
        Put: { TableName: table, Item, ConditionExpression: 'attribute_not_exists(PK)' },
      });
      const exists = () => new UserExistsError('Provider account already registered');

      // Concurrent onboardings of one account collide on the guard; a collision that DynamoDB
      // reports as a transaction conflict is settled by looking at the guard.
      const exhausted = () => new ContentionError('Onboardings of one account kept colliding');
      return retrying(afterConflict, exhausted, async () => {
        const cancelled = await transact(dynamo, {
          guard: putNew(guard),
          profile: putNew(item),
          session: putNew(session.item),
          storeGuard: putNew(storeGuard),
        });
        if (!cancelled) return { profile: profileFrom(item, fields, now()), session };
        const { reasons } = cancelled;
        if (reasons.guard === 'ConditionalCheckFailed') throw exists();
        if (await this.findUserId(identity.provider, identity.subject)) throw exists();
        if (!Object.values(reasons).includes('TransactionConflict')) throw cancelled.error;
        return again;
      });
    },

    async findUserId(provider: Provider, subject: string): Promise<string | undefined> {
      const { Item } = await dynamo.send(
        new GetCommand({
          TableName: table,
          Key: guardKey(await externalKey(emailMac, provider, subject)),
          ConsistentRead: true,
        }),
      );
      return Item?.user_id as string | undefined;
    },

    async get(userId: string): Promise<Profile | undefined> {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table, Key: userKey(userId), ConsistentRead: true }),
      );
      return Item ? toProfile(Item) : undefined;
    },

    /** A profile item as read (with the session, in one round trip). */
    profileOf: (item: Record<string, unknown> | undefined) => (item ? toProfile(item) : Promise.resolve(undefined)),
    /** Its subscription alone: no personal field is decrypted for it. */
    subscriptionOf: (item: Record<string, unknown> | undefined) => (item ? subscriptionOf(item, now()) : undefined),

    /**
     * Records the device of a sign-in (and a new Sign in with Apple refresh token, sealed);
     * `updated_at` is for changes the user made.
     */
    recordSignIn(
      userId: string,
      device: Device,
      apple?: { refreshToken: string; clientId: string },
    ): Promise<Profile | undefined> {
      return rewrite(
        userId,
        (fields) => ({ ...fields, device_id: device.deviceId }),
        async () => ({
          current_device: storedDevice(device),
          last_signin_at: now(),
          ...(apple && {
            apple_refresh_token: await pii.seal(userId, 'apple_refresh_token', apple.refreshToken),
            apple_client_id: apple.clientId,
          }),
        }),
      );
    },

    update(userId: string, changes: ProfileUpdate): Promise<Profile | undefined> {
      return rewrite(
        userId,
        (fields) => withChanges(fields, changes),
        async () => ({ updated_at: now(), ...(changes.device && { current_device: storedDevice(changes.device) }) }),
      );
    },

    /**
     * Fences the account before anything of it is deleted: from now on no job can be reserved and
     * no session opened or refreshed for it (`live-profile.ts`). Repeatable: a deletion cut short
     * finds the mark, or no profile at all, and goes on.
     */
    async beginDeletion(userId: string): Promise<void> {
      const beganAt = now();
      const fence = {
        Update: {
          TableName: table,
          Key: userKey(userId),
          ConditionExpression: 'attribute_exists(PK)',
          UpdateExpression: 'SET deleting_at = if_not_exists(deleting_at, :now)',
          ExpressionAttributeValues: { ':now': beganAt },
        },
      };
      // The deletion as durable work: the sweeper finishes it if this request does not.
      const work = {
        Update: {
          TableName: table,
          Key: itemKeys.pendingDeletion(userId),
          UpdateExpression: 'SET entity = :entity, user_id = :user, began_at = if_not_exists(began_at, :now)',
          ExpressionAttributeValues: { ':entity': 'pending_deletion', ':user': userId, ':now': beganAt },
        },
      };
      const cancelled = await transact(dynamo, { fence, work });
      // No profile: already deleted; a pending deletion, if any, is finished as it is.
      if (cancelled && cancelled.reasons.fence !== 'ConditionalCheckFailed') throw cancelled.error;
    },

    /** Deletions begun before `cutoff` and not finished, oldest first, at most `limit`. */
    async pendingDeletions(cutoff: Date, limit: number): Promise<Array<{ userId: string; beganAt: string }>> {
      const pending = await partition(itemKeys.pendingDeletion('').PK);
      const found = pending.map((item) => ({ userId: item.user_id as string, beganAt: item.began_at as string }));
      const due = found.filter((d) => d.beganAt < cutoff.toISOString());
      return due.sort((a, b) => a.beganAt.localeCompare(b.beganAt)).slice(0, limit);
    },

    /** Whether the account's deletion has begun and is not finished (its work item still stands). */
    async deletionPending(userId: string): Promise<boolean> {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table, Key: itemKeys.pendingDeletion(userId), ConsistentRead: true }),
      );
      return Item !== undefined;
    },

    /** The deletion's work item goes last, once everything of the user is gone. */
    async endDeletion(userId: string): Promise<void> {
      await dynamo.send(new DeleteCommand({ TableName: table, Key: itemKeys.pendingDeletion(userId) }));
    },

    /**
     * Deletes every item of the user and its provider guard. Sessions go last, so a deletion
     * cut short can be retried with the same access token and finishes the job.
     */
    async delete(userId: string): Promise<void> {
      const items = await partition(itemKeys.userPartition(userId), 'PK, SK, external_key, store_account_token');
      const keys = items.map((item) => ({ PK: item.PK as string, SK: item.SK as string }));
      const guards = items.flatMap((item) =>
        item.SK === 'PROFILE'
          ? [
              guardKey(item.external_key as string),
              ...(item.store_account_token ? [itemKeys.storeAccount(item.store_account_token as string)] : []),
            ]
          : [],
      );
      const isSession = (k: { SK: string }) => k.SK.startsWith('SESSION#');
      const ordered = [...guards, ...keys.filter((k) => !isSession(k)), ...keys.filter(isSession)];
      await deleteKeys(dynamo, table, ordered, 'deleting a user');
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
