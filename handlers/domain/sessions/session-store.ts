import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemKeys, uuidPattern } from '../../../contract';
import type { Clock } from '../../core/clock';
import { once } from '../../core/once';
import type { EmailMac } from '../users/email-mac';
import { AccountClosedError } from '../users/live-profile';
import { transactWhileLive } from '../users/live-account';
import { unlessConditionFails } from '../../core/conditions';
import { afterThrottling, again, retrying } from '../../core/dynamo-retry';
import { DomainError } from '../../core/errors';

export type SessionOrigin = 'onboarding' | 'signin';

export interface NewSession {
  sessionId: string;
  refreshToken: string;
  item: Record<string, unknown>;
}

export class InvalidRefreshTokenError extends DomainError {
  override name = 'InvalidRefreshTokenError';
}
/** The session reached its absolute lifetime: however often it was refreshed, the user signs in again. */
export class SessionExpiredError extends DomainError {
  override name = 'SessionExpiredError';
}
/** A spent refresh token came back: someone holds a copy, so the whole session is revoked. */
export class RefreshTokenReusedError extends DomainError {
  override name = 'RefreshTokenReusedError';
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('base64url');
const refreshTokenFormat = new RegExp(
  `^(${uuidPattern})\\.(${uuidPattern})\\.(0|[1-9][0-9]{0,8})\\.([A-Za-z0-9_-]{43})\\.([A-Za-z0-9_-]{22})$`,
);

/** The keyed-MAC message the generation key derives from; no email or other MAC input looks like it. */
const generationKeyMessage = 'session-generations\nv1';

/**
 * Sessions live under the user (`SK = SESSION#<sid>`). A refresh token is
 * `<userId>.<sessionId>.<generation>.<256-bit secret>.<tag>`; only the current secret's hash is
 * stored, and every refresh replaces it and counts the generation up. The tag (an HMAC of ids and
 * generation) proves a token of an older generation was really issued: such a token is a replay,
 * however long ago it was spent, and ends the session — while a guessed one does not, so nobody
 * ends a session by knowing its id. The tag's key derives from the zone's MAC key (in KMS) and is
 * stored nowhere, so a copy of the table (a backup, an export) cannot forge a replay either.
 * A session slides with each refresh (`ttlSeconds`) up to its absolute lifetime, then ends.
 * Access tokens name their session, and a revoked, expired or deleted session fails them.
 */
export function createSessionStore(deps: {
  dynamo: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  /** Idle lifetime: each refresh extends the session by this much… */
  ttlSeconds: number;
  /** …up to this long after it was opened. */
  lifetimeSeconds: number;
  /** The zone's keyed MAC: the generation tags' key derives from it once per instance. */
  mac: EmailMac;
}) {
  const { dynamo, table, clock, ttlSeconds, lifetimeSeconds } = deps;
  const key = itemKeys.session;
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  const generationKey = once(() => deps.mac.mac(generationKeyMessage));
  const tagOf = (key: string, userId: string, sessionId: string, generation: number) =>
    createHmac('sha256', Buffer.from(key, 'base64url'))
      .update(`${userId}.${sessionId}.${generation}`)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  const mint = (userId: string, sessionId: string, generation: number, key: string) => {
    const secret = randomBytes(32).toString('base64url');
    return {
      refreshToken: `${userId}.${sessionId}.${generation}.${secret}.${tagOf(key, userId, sessionId, generation)}`,
      hash: hashOf(secret),
    };
  };
  /** When the session ends for good (epoch seconds); sessions opened before `ends_at` was kept end by their start. */
  const endOf = (item: Record<string, unknown>) =>
    Number(item.ends_at ?? Math.floor(Date.parse(String(item.created_at)) / 1000) + lifetimeSeconds);

  return {
    /** A session item to write, on its own or inside the onboarding transaction. */
    async open(userId: string, origin: SessionOrigin): Promise<NewSession> {
      const sessionId = randomUUID();
      // Authenticates generation numbers only: it cannot make a token that refreshes.
      const { refreshToken, hash } = mint(userId, sessionId, 0, await generationKey());
      const now = clock.now();
      const endsAt = nowSeconds() + lifetimeSeconds;
      return {
        sessionId,
        refreshToken,
        item: {
          ...key(userId, sessionId),
          entity: 'session',
          origin,
          refresh_hash: hash,
          generation: 0,
          revoked: false,
          created_at: now.toISOString(),
          ends_at: endsAt,
          ttl: Math.min(nowSeconds() + ttlSeconds, endsAt),
        },
      };
    },

    /** Opens the session of a sign-in: only while the account exists and is not being deleted. */
    async put(userId: string, session: NewSession): Promise<void> {
      const put = { Put: { TableName: table, Item: session.item, ConditionExpression: 'attribute_not_exists(PK)' } };
      const cancelled = await transactWhileLive(dynamo, table, userId, { session: put });
      if (cancelled) throw cancelled.error;
    },

    /**
     * Whether the session is live, and the items a route needs, in one strongly consistent round
     * trip (a sign-out or deletion fails the very next request). `items[i]` answers `keys[i]`.
     */
    async check(
      userId: string,
      sessionId: string,
      keys: Array<{ PK: string; SK: string }> = [],
    ): Promise<{ active: boolean; items: Array<Record<string, unknown> | undefined> }> {
      const wanted = [key(userId, sessionId), ...keys];
      const found: Record<string, unknown>[] = [];
      let requested: Array<Record<string, unknown>> = wanted;
      await retrying(
        afterThrottling,
        () => new Error('DynamoDB kept keys unprocessed while checking a session'),
        async () => {
          const out = await dynamo.send(
            new BatchGetCommand({ RequestItems: { [table]: { Keys: requested, ConsistentRead: true } } }),
          );
          found.push(...(out.Responses?.[table] ?? []));
          requested = out.UnprocessedKeys?.[table]?.Keys ?? [];
          return requested.length ? again : undefined;
        },
      );
      const [session, ...items] = wanted.map((k) => found.find((f) => f.PK === k.PK && f.SK === k.SK));
      const now = nowSeconds();
      return {
        active: !!session && session.revoked === false && Number(session.ttl) > now && endOf(session) > now,
        items,
      };
    },

    /** Spends a refresh token and returns the next one; a token of an older generation revokes the session. */
    async rotate(refreshToken: string): Promise<{ userId: string; sessionId: string; refreshToken: string }> {
      const parsed = refreshTokenFormat.exec(refreshToken);
      if (!parsed) throw new InvalidRefreshTokenError('Malformed refresh token');
      const [, userId, sessionId, generationText, secret, tag] = parsed as unknown as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const generation = Number(generationText);
      const presented = hashOf(secret);
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: table, Key: key(userId, sessionId), ConsistentRead: true }),
      );
      if (Item?.revoked !== false) throw new InvalidRefreshTokenError('Session is over');
      const endsAt = endOf(Item);
      if (endsAt <= nowSeconds()) throw new SessionExpiredError('Session reached its absolute lifetime');
      if (Number(Item.ttl) <= nowSeconds()) throw new InvalidRefreshTokenError('Session is over');
      const current = Number(Item.generation);
      const derived = await generationKey();
      // Sessions opened before the key was derived kept theirs in the item: it checks their tags
      // once more, and this refresh moves them onto the derived key (older tags then read as unknown).
      const legacyKey = typeof Item.generation_key === 'string' ? Item.generation_key : undefined;
      if (!timingSafeEqual(Buffer.from(tag), Buffer.from(tagOf(legacyKey ?? derived, userId, sessionId, generation))))
        throw new InvalidRefreshTokenError('Unknown refresh token');
      if (generation < current) {
        await this.revoke(userId, sessionId, 'refresh_token_reused');
        throw new RefreshTokenReusedError('Refresh token reused');
      }
      if (generation > current || Item.refresh_hash !== presented)
        throw new InvalidRefreshTokenError('Unknown refresh token');
      const next = mint(userId, sessionId, current + 1, derived);
      const rotation = {
        Update: {
          TableName: table,
          Key: key(userId, sessionId),
          // Two refreshes racing with one token: only one wins; the loser is a reuse.
          ConditionExpression: 'refresh_hash = :presented AND generation = :generation AND revoked = :false',
          UpdateExpression:
            'SET refresh_hash = :next, generation = :nextGeneration, refreshed_at = :now, #ttl = :ttl REMOVE generation_key',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':presented': presented,
            ':generation': current,
            ':false': false,
            ':next': next.hash,
            ':nextGeneration': current + 1,
            ':now': clock.now().toISOString(),
            // Slides, but never past the session's absolute end.
            ':ttl': Math.min(nowSeconds() + ttlSeconds, endsAt),
          },
        },
      };
      const cancelled = await transactWhileLive(dynamo, table, userId, { session: rotation }).catch((err: unknown) => {
        throw err instanceof AccountClosedError
          ? new InvalidRefreshTokenError('The account is gone or being deleted')
          : err;
      });
      if (cancelled) {
        const { session } = cancelled.reasons;
        if (session !== 'ConditionalCheckFailed' && session !== 'TransactionConflict') throw cancelled.error;
        await this.revoke(userId, sessionId, 'refresh_token_reused');
        throw new RefreshTokenReusedError('Refresh token reused');
      }
      return { userId, sessionId, refreshToken: next.refreshToken };
    },

    async revoke(userId: string, sessionId: string, reason: 'signed_out' | 'refresh_token_reused'): Promise<void> {
      const update = new UpdateCommand({
        TableName: table,
        Key: key(userId, sessionId),
        ConditionExpression: 'attribute_exists(PK)',
        UpdateExpression: 'SET revoked = :true, revoked_reason = :reason, revoked_at = :now',
        ExpressionAttributeValues: { ':true': true, ':reason': reason, ':now': clock.now().toISOString() },
      });
      // Already gone (account deleted): nothing left to revoke.
      await unlessConditionFails(dynamo.send(update), undefined);
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
