import { randomUUID } from 'node:crypto';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { cancellationReasons, unlessConditionFails } from '../../core/conditions';
import { ContentionError, DomainError } from '../../core/errors';
import { itemKeys } from '../../../contract';
import type { Clock } from '../../core/clock';
import type { ExternalIdentity, Provider } from '../identity/id-tokens';
import type { NewSession } from '../sessions/session-store';
import { normalizeEmail, type EmailMac } from './email-mac';
import type { PiiAttribute, PiiCipher } from './pii-cipher';

export interface Consent {
  version: string;
  accepted: true;
}
export interface Device {
  platform: 'ios' | 'android';
  deviceId: string;
  appVersion: string;
}
export interface Subscription {
  type: 'free' | 'premium';
  status: 'active' | 'expired' | 'cancelled';
  provider?: 'apple' | 'google';
  expiresAt?: string;
}

/** The API's `Profile`: decrypted, camel-cased, never stored like this. */
export interface Profile {
  id: string;
  email: string;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  authProvider: Provider;
  /** The purchase's account token for the stores (Apple's `appAccountToken`, Play's `obfuscatedExternalAccountId`). */
  storeAccountToken: string;
  consents: Record<string, Consent & { acceptedAt: string }>;
  subscription: Subscription;
  device: Device | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProfileChanges {
  name?: string;
  givenName?: string;
  familyName?: string;
  device?: Device;
}

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
/** The personal fields of a profile, sealed together as the item's `pii` (one message). */
type PersonalFields = { email: string; name?: string; given_name?: string; family_name?: string; device_id?: string };
/** The attributes of the first format, one sealed message each; rewritten as `pii` on the next write. */
const legacyAttributes: PiiAttribute[] = ['email', 'name', 'given_name', 'family_name'];

/**
 * Users in the single table. A profile's personal fields are sealed together, as one message, before
 * they are written; a user's provider account is claimed by a guard item in the same transaction,
 * so one provider account can become one user only, however many requests race.
 */
export function createUserRepository(deps: {
  dynamo: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  pii: PiiCipher;
  emailMac: EmailMac;
}) {
  const { dynamo, table, clock, pii, emailMac } = deps;
  /** The device as stored; its id is one of the sealed personal fields. */
  const storedDevice = (d: Device) => ({ platform: d.platform, app_version: d.appVersion });

  /** The personal fields of an item: one message; or, written before it, one message per attribute. */
  async function personalOf(item: Record<string, unknown>): Promise<PersonalFields> {
    const id = item.id as string;
    if (typeof item.pii === 'string') return (await pii.openRecord(id, item.pii)) as PersonalFields;
    const open = async (attribute: PiiAttribute, sealed: unknown) => (typeof sealed === 'string' ? pii.open(id, attribute, sealed) : undefined);
    const device = item.current_device as Record<string, string> | undefined;
    const [email, name, given_name, family_name, device_id] = await Promise.all([
      ...legacyAttributes.map((a) => open(a, item[a])),
      open('device_id', device?.device_id),
    ]);
    return { email: email ?? '', name, given_name, family_name, device_id };
  }

  /** Expiry is judged when read: an active or cancelled subscription past its date reads as expired. */
  function subscriptionOf(item: Record<string, unknown>): Subscription {
    const sub = (item.current_subscription ?? { type: 'free', status: 'active' }) as Record<string, string>;
    const lapsed = sub.status !== 'expired' && sub.expires_at !== undefined && sub.expires_at <= clock.now().toISOString();
    return {
      type: sub.type as Subscription['type'],
      status: lapsed ? 'expired' : (sub.status as Subscription['status']),
      ...(sub.provider ? { provider: sub.provider as Subscription['provider'] } : {}),
      ...(sub.expires_at ? { expiresAt: sub.expires_at } : {}),
    };
  }

  const toProfile = async (item: Record<string, unknown>) => profileFrom(item, await personalOf(item));

  function profileFrom(item: Record<string, unknown>, fields: PersonalFields): Profile {
    const id = item.id as string;
    const device = item.current_device as Record<string, string> | undefined;
    const deviceId = fields.device_id;
    const consents = item.consents as Record<string, { version: string; accepted: true; accepted_at: string }>;
    return {
      id,
      email: fields.email,
      name: fields.name ?? null,
      givenName: fields.given_name ?? null,
      familyName: fields.family_name ?? null,
      authProvider: item.auth_provider as Provider,
      storeAccountToken: item.store_account_token as string,
      consents: Object.fromEntries(
        Object.entries(consents).map(([k, c]) => [k, { version: c.version, accepted: c.accepted, acceptedAt: c.accepted_at }]),
      ),
      subscription: subscriptionOf(item),
      device: device
        ? { platform: device.platform as Device['platform'], deviceId: deviceId!, appVersion: device.app_version! }
        : null,
      createdAt: item.created_at as string,
      updatedAt: item.updated_at as string,
    };
  }

  /**
   * Changes a profile's personal fields: read, open, change, seal as one message, write back —
   * conditional on nothing else having written them meanwhile (retried), and rewriting a profile
   * of the per-attribute format in the one-message format. Undefined when the user is gone.
   */
  async function rewrite(
    userId: string,
    change: (fields: PersonalFields) => PersonalFields,
    also: () => Promise<Record<string, unknown>>,
  ): Promise<Profile | undefined> {
    for (let attempt = 0; ; attempt++) {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: userKey(userId), ConsistentRead: true }));
      // An account being deleted is gone for writes.
      if (!Item || Item.deleting_at) return undefined;
      const before = await personalOf(Item);
      const fields = change(before);
      const version = (Item.pii_version as number | undefined) ?? 0;
      // The audit trail names what changed inside the sealed message: names, never values.
      const changed = [...new Set([...Object.keys(before), ...Object.keys(fields)])].filter((k) => before[k as keyof PersonalFields] !== fields[k as keyof PersonalFields]).sort();
      const set: Record<string, unknown> = { ...(await also()), pii: await pii.sealRecord(userId, fields), pii_version: version + 1, pii_changed: changed };
      const names = Object.keys(set);
      // The first format's attributes go; a device written anew carries no sealed id of its own.
      const remove = [...legacyAttributes.map((a) => `#legacy_${a}`), ...('current_device' in set ? [] : ['current_device.device_id'])];
      const update = new UpdateCommand({
        TableName: table,
        Key: userKey(userId),
        ConditionExpression: `${version ? 'pii_version = :version' : 'attribute_exists(PK) AND attribute_not_exists(pii_version)'} AND attribute_not_exists(deleting_at)`,
        // Names go through placeholders: `name` is a DynamoDB reserved word.
        UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')} REMOVE ${remove.join(', ')}`,
        ExpressionAttributeNames: {
          ...Object.fromEntries(names.map((n) => [`#${n}`, n])),
          ...Object.fromEntries(legacyAttributes.map((a) => [`#legacy_${a}`, a])),
        },
        ExpressionAttributeValues: { ...Object.fromEntries(names.map((n) => [`:${n}`, set[n]])), ...(version ? { ':version': version } : {}) },
        ReturnValues: 'ALL_NEW',
      });
      // Someone else wrote the profile since our read: read again after a jittered pause, a few times;
      // then the client retries (409), as contention is no fault of ours.
      const written = await unlessConditionFails(dynamo.send(update), undefined);
      if (written) return written.Attributes ? profileFrom(written.Attributes, fields) : undefined;
      if (attempt >= 5) throw new ContentionError('The profile kept changing while it was being updated');
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * (attempt + 1)));
    }
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
      const now = clock.now().toISOString();
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
        consents: Object.fromEntries(
          Object.entries(input.consents).map(([k, c]) => [k, { version: c.version, accepted: true, accepted_at: now }]),
        ),
        current_subscription: { type: 'free', status: 'active' },
        current_device: storedDevice(input.device),
        GSI1PK: itemKeys.emailIndex(await emailMac.mac(normalizeEmail(identity.email))),
        GSI1SK: itemKeys.userPartition(userId),
        GSI2PK: external,
        GSI2SK: itemKeys.userPartition(userId),
        created_at: now,
        updated_at: now,
      };
      const session = await input.session(userId);
      const guard = { ...guardKey(external), entity: 'external_account', user_id: userId, created_at: now };
      const storeGuard = { ...itemKeys.storeAccount(storeAccountToken), entity: 'store_account', user_id: userId, created_at: now };

      // Concurrent onboardings of one account collide on the guard; a collision that DynamoDB
      // reports as a transaction conflict is settled by looking at the guard.
      for (let attempt = 0; ; attempt++) {
        try {
          await dynamo.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: { TableName: table, Item: guard, ConditionExpression: 'attribute_not_exists(PK)' } },
                { Put: { TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
                { Put: { TableName: table, Item: session.item, ConditionExpression: 'attribute_not_exists(PK)' } },
                { Put: { TableName: table, Item: storeGuard, ConditionExpression: 'attribute_not_exists(PK)' } },
              ],
            }),
          );
          return { profile: profileFrom(item, fields), session };
        } catch (err) {
          if (!(err instanceof TransactionCanceledException)) throw err;
          const reasons = err.CancellationReasons ?? [];
          if (reasons[0]?.Code === 'ConditionalCheckFailed') throw new UserExistsError('Provider account already registered');
          if (await this.findUserId(identity.provider, identity.subject)) throw new UserExistsError('Provider account already registered');
          if (!reasons.some((r) => r.Code === 'TransactionConflict')) throw err;
          if (attempt >= 5) throw new ContentionError('Onboardings of one account kept colliding');
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 50 * (attempt + 1)));
        }
      }
    },

    async findUserId(provider: Provider, subject: string): Promise<string | undefined> {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: guardKey(await externalKey(emailMac, provider, subject)), ConsistentRead: true }));
      return Item?.user_id as string | undefined;
    },

    async get(userId: string): Promise<Profile | undefined> {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: userKey(userId), ConsistentRead: true }));
      return Item ? toProfile(Item) : undefined;
    },

    /** A profile item as read (with the session, in one round trip). */
    profileOf: (item: Record<string, unknown> | undefined) => (item ? toProfile(item) : Promise.resolve(undefined)),
    /** Its subscription alone: no personal field is decrypted for it. */
    subscriptionOf: (item: Record<string, unknown> | undefined) => (item ? subscriptionOf(item) : undefined),

    /**
     * Records the device of a sign-in (and a new Sign in with Apple refresh token, sealed);
     * `updated_at` is for changes the user made.
     */
    recordSignIn(userId: string, device: Device, apple?: { refreshToken: string; clientId: string }): Promise<Profile | undefined> {
      return rewrite(userId, (fields) => ({ ...fields, device_id: device.deviceId }), async () => ({
        current_device: storedDevice(device),
        last_signin_at: clock.now().toISOString(),
        ...(apple && { apple_refresh_token: await pii.seal(userId, 'apple_refresh_token', apple.refreshToken), apple_client_id: apple.clientId }),
      }));
    },

    update(userId: string, changes: ProfileChanges): Promise<Profile | undefined> {
      return rewrite(
        userId,
        (fields) => ({
          ...fields,
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.givenName !== undefined && { given_name: changes.givenName }),
          ...(changes.familyName !== undefined && { family_name: changes.familyName }),
          ...(changes.device && { device_id: changes.device.deviceId }),
        }),
        async () => ({ updated_at: clock.now().toISOString(), ...(changes.device && { current_device: storedDevice(changes.device) }) }),
      );
    },

    /**
     * Fences the account before anything of it is deleted: from now on no job can be reserved and
     * no session opened or refreshed for it (`live-profile.ts`). Repeatable: a deletion cut short
     * finds the mark, or no profile at all, and goes on.
     */
    async beginDeletion(userId: string): Promise<void> {
      const now = clock.now().toISOString();
      const fence = {
        Update: {
          TableName: table,
          Key: userKey(userId),
          ConditionExpression: 'attribute_exists(PK)',
          UpdateExpression: 'SET deleting_at = if_not_exists(deleting_at, :now)',
          ExpressionAttributeValues: { ':now': now },
        },
      };
      // The deletion as durable work: the sweeper finishes it if this request does not.
      const work = {
        Update: {
          TableName: table,
          Key: itemKeys.pendingDeletion(userId),
          UpdateExpression: 'SET entity = :entity, user_id = :user, began_at = if_not_exists(began_at, :now)',
          ExpressionAttributeValues: { ':entity': 'pending_deletion', ':user': userId, ':now': now },
        },
      };
      try {
        await dynamo.send(new TransactWriteCommand({ TransactItems: [fence, work] }));
      } catch (err) {
        // No profile: already deleted; a pending deletion, if any, is finished as it is.
        if (err instanceof TransactionCanceledException && cancellationReasons(['fence', 'work'], err).fence === 'ConditionalCheckFailed') return;
        throw err;
      }
    },

    /** Deletions begun before `cutoff` and not finished, oldest first, at most `limit`. */
    async pendingDeletions(cutoff: Date, limit: number): Promise<Array<{ userId: string; beganAt: string }>> {
      const found: Array<{ userId: string; beganAt: string }> = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': itemKeys.pendingDeletion('').PK },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) found.push({ userId: item.user_id as string, beganAt: item.began_at as string });
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      const due = found.filter((d) => d.beganAt < cutoff.toISOString());
      return due.sort((a, b) => a.beganAt.localeCompare(b.beganAt)).slice(0, limit);
    },

    /** Whether the account's deletion has begun and is not finished (its work item still stands). */
    async deletionPending(userId: string): Promise<boolean> {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: itemKeys.pendingDeletion(userId), ConsistentRead: true }));
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
      const keys: Array<{ PK: string; SK: string }> = [];
      const guards: Array<{ PK: string; SK: string }> = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': itemKeys.userPartition(userId) },
            ProjectionExpression: 'PK, SK, external_key, store_account_token',
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          keys.push({ PK: item.PK, SK: item.SK });
          if (item.SK === 'PROFILE') {
            guards.push(guardKey(item.external_key));
            if (item.store_account_token) guards.push(itemKeys.storeAccount(item.store_account_token));
          }
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      const isSession = (k: { SK: string }) => k.SK.startsWith('SESSION#');
      const ordered = [...guards, ...keys.filter((k) => !isSession(k)), ...keys.filter(isSession)];
      for (let i = 0; i < ordered.length; i += 25) {
        let requests: Record<string, unknown>[] | undefined = ordered.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
        for (let attempt = 0; requests?.length; attempt++) {
          if (attempt > 8) throw new Error('DynamoDB kept items unprocessed while deleting a user');
          if (attempt) await new Promise((r) => setTimeout(r, 2 ** attempt * 10));
          const out = await dynamo.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
          requests = out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined;
        }
      }
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
