import { randomUUID } from 'node:crypto';
import {
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../clock';
import type { ExternalIdentity, Provider } from '../identity/id-tokens';
import type { NewSession } from '../sessions/session-store';
import { normalizeEmail, type EmailMac } from './email-mac';
import { profileKey, storeAccountKey } from './live-profile';
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

export class UserExistsError extends Error {
  override name = 'UserExistsError';
}

const userKey = profileKey;
/**
 * The provider account's key in the guard item and GSI2: keyed by the HMAC, like the email index,
 * so the Google or Apple subject is stored nowhere (not in the table, its stream or its backups).
 */
export async function externalKey(emailMac: EmailMac, provider: Provider, subject: string): Promise<string> {
  return `EXTERNAL#${provider}#${await emailMac.mac(`external:${provider}:${subject}`)}`;
}
const guardKey = (external: string) => ({ PK: external, SK: 'EXTERNAL' });
const piiFields: Array<[PiiAttribute, 'email' | 'name' | 'givenName' | 'familyName']> = [
  ['email', 'email'],
  ['name', 'name'],
  ['given_name', 'givenName'],
  ['family_name', 'familyName'],
];

/**
 * Users in the single table. Personal fields are sealed per attribute before they are written;
 * a user's provider account is claimed by a guard item in the same transaction, so one
 * provider account can become one user only, however many requests race.
 */
export function createUserRepository(deps: {
  dynamo: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  pii: PiiCipher;
  emailMac: EmailMac;
}) {
  const { dynamo, table, clock, pii, emailMac } = deps;
  /** The device as stored: its id is sealed like the other personal fields. */
  const storedDevice = async (userId: string, d: Device) => ({ platform: d.platform, device_id: await pii.seal(userId, 'device_id', d.deviceId), app_version: d.appVersion });

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

  async function toProfile(item: Record<string, unknown>): Promise<Profile> {
    const id = item.id as string;
    const open = async (attribute: PiiAttribute) =>
      typeof item[attribute] === 'string' ? pii.open(id, attribute, item[attribute] as string) : null;
    const [email, name, givenName, familyName] = await Promise.all(piiFields.map(([attr]) => open(attr)));
    const device = item.current_device as Record<string, string> | undefined;
    const deviceId = device?.device_id ? await pii.open(id, 'device_id', device.device_id) : undefined;
    const consents = item.consents as Record<string, { version: string; accepted: true; accepted_at: string }>;
    return {
      id,
      email: email ?? '',
      name,
      givenName,
      familyName,
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

  return {
    /** Creates the user, its provider guard and its first session in one transaction. */
    async register(input: {
      identity: ExternalIdentity;
      consents: Record<string, Consent>;
      device: Device;
      session: (userId: string) => NewSession;
      /** Sign in with Apple's refresh token, kept sealed so the account's deletion can revoke it. */
      appleRefreshToken?: string;
    }): Promise<{ profile: Profile; session: NewSession }> {
      const { identity } = input;
      const userId = randomUUID();
      const external = await externalKey(emailMac, identity.provider, identity.subject);
      // Random, not the user id: a purchase names an account only through this token.
      const storeAccountToken = randomUUID();
      const now = clock.now().toISOString();
      const sealed = Object.fromEntries(
        await Promise.all(
          piiFields
            .filter(([, field]) => identity[field] !== undefined)
            .map(async ([attr, field]) => [attr, await pii.seal(userId, attr, identity[field]!)] as const),
        ),
      );
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
        ...sealed,
        consents: Object.fromEntries(
          Object.entries(input.consents).map(([k, c]) => [k, { version: c.version, accepted: true, accepted_at: now }]),
        ),
        current_subscription: { type: 'free', status: 'active' },
        current_device: await storedDevice(userId, input.device),
        GSI1PK: `EMAIL#${await emailMac.mac(normalizeEmail(identity.email))}`,
        GSI1SK: `USER#${userId}`,
        GSI2PK: external,
        GSI2SK: `USER#${userId}`,
        created_at: now,
        updated_at: now,
      };
      const session = input.session(userId);
      const guard = { ...guardKey(external), entity: 'external_account', user_id: userId, created_at: now };
      const storeGuard = { ...storeAccountKey(storeAccountToken), entity: 'store_account', user_id: userId, created_at: now };

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
          return { profile: await toProfile(item), session };
        } catch (err) {
          if (!(err instanceof TransactionCanceledException)) throw err;
          const reasons = err.CancellationReasons ?? [];
          if (reasons[0]?.Code === 'ConditionalCheckFailed') throw new UserExistsError('Provider account already registered');
          if (await this.findUserId(identity.provider, identity.subject)) throw new UserExistsError('Provider account already registered');
          if (attempt >= 5 || !reasons.some((r) => r.Code === 'TransactionConflict')) throw err;
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 50 * (attempt + 1)));
        }
      }
    },

    async findUserId(provider: Provider, subject: string): Promise<string | undefined> {
      const { Item } = await dynamo.send(new GetCommand({ TableName: table, Key: guardKey(await externalKey(emailMac, provider, subject)), ConsistentRead: true }));
      return Item?.user_id as string | undefined;
    },

    /** The subscription alone: no personal field is decrypted to decide a quota or a gate. */
    async subscription(userId: string): Promise<Subscription | undefined> {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table, Key: userKey(userId), ProjectionExpression: 'current_subscription', ConsistentRead: true }),
      );
      return Item ? subscriptionOf(Item) : undefined;
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
    async recordSignIn(userId: string, device: Device, apple?: { refreshToken: string; clientId: string }): Promise<Profile | undefined> {
      try {
        const { Attributes } = await dynamo.send(
          new UpdateCommand({
            TableName: table,
            Key: userKey(userId),
            ConditionExpression: 'attribute_exists(PK)',
            UpdateExpression: `SET current_device = :device, last_signin_at = :now${apple ? ', apple_refresh_token = :apple, apple_client_id = :client' : ''}`,
            ExpressionAttributeValues: {
              ':device': await storedDevice(userId, device),
              ':now': clock.now().toISOString(),
              ...(apple && { ':apple': await pii.seal(userId, 'apple_refresh_token', apple.refreshToken), ':client': apple.clientId }),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Attributes ? toProfile(Attributes) : undefined;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return undefined;
        throw err;
      }
    },

    async update(userId: string, changes: ProfileChanges): Promise<Profile | undefined> {
      const set: Record<string, unknown> = { updated_at: clock.now().toISOString() };
      for (const [attr, field] of piiFields) {
        const value = field === 'email' ? undefined : changes[field];
        if (value !== undefined) set[attr] = await pii.seal(userId, attr, value);
      }
      if (changes.device) set.current_device = await storedDevice(userId, changes.device);
      const attrs = Object.keys(set);
      try {
        const { Attributes } = await dynamo.send(
          new UpdateCommand({
            TableName: table,
            Key: userKey(userId),
            ConditionExpression: 'attribute_exists(PK)',
            // Names go through placeholders: `name` is a DynamoDB reserved word.
            UpdateExpression: `SET ${attrs.map((a) => `#${a} = :${a}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(attrs.map((a) => [`#${a}`, a])),
            ExpressionAttributeValues: Object.fromEntries(attrs.map((a) => [`:${a}`, set[a]])),
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Attributes ? toProfile(Attributes) : undefined;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return undefined;
        throw err;
      }
    },

    /**
     * Fences the account before anything of it is deleted: from now on no job can be reserved and
     * no session opened or refreshed for it (`live-profile.ts`). Repeatable: a deletion cut short
     * finds the mark, or no profile at all, and goes on.
     */
    async beginDeletion(userId: string): Promise<void> {
      await dynamo
        .send(
          new UpdateCommand({
            TableName: table,
            Key: userKey(userId),
            ConditionExpression: 'attribute_exists(PK)',
            UpdateExpression: 'SET deleting_at = if_not_exists(deleting_at, :now)',
            ExpressionAttributeValues: { ':now': clock.now().toISOString() },
          }),
        )
        .catch((err) => {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        });
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
            ExpressionAttributeValues: { ':pk': `USER#${userId}` },
            ProjectionExpression: 'PK, SK, external_key, store_account_token',
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          keys.push({ PK: item.PK, SK: item.SK });
          if (item.SK === 'PROFILE') {
            guards.push(guardKey(item.external_key));
            if (item.store_account_token) guards.push(storeAccountKey(item.store_account_token));
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

