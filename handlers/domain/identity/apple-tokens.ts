import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import {
  DeleteCommand,
  paginateQuery,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { itemKeys, platformMetrics } from '../../../contract';
import type { Clock } from '../../core/clock';
import { unlessConditionFails } from '../../core/conditions';
import type { PiiCipher } from '../users/pii-cipher';
import { AppleRevocationError, type AppleIdClient } from './apple-id';
import type { ExternalIdentity } from './id-tokens';
import { DomainError } from '../../core/errors';

/** The code is of another Apple account than the ID token's (or Apple's answer did not say whose). */
export class ForeignAuthorizationCodeError extends DomainError {
  override name = 'ForeignAuthorizationCodeError';
}

/** A refresh token waiting for Apple to confirm its revocation, as its item holds it. */
export interface PendingRevocation {
  id: string;
  /** The id whose encryption context the token is sealed under: the user's, or the revocation's own. */
  sealedFor: string;
  sealedToken: string;
  clientId: string;
  queuedAt: string;
}

type Image = Record<string, AttributeValue>;
const pendingPartition = itemKeys.appleRevocation('').PK;
/**
 * Revocations the sweep has in flight at once, and at most per run (oldest first): with Apple timing
 * out at 10 s, a run stays within a function's timeout, whatever the backlog.
 */
const sweepConcurrency = 5;
const sweepBatch = 15;

/**
 * Sign in with Apple refresh tokens in our custody, from the code to Apple's confirmed revocation.
 * A code is redeemed only for the Apple account that is signing in. A token we stop keeping — the
 * account deleted, the token replaced by a newer one, a grant never stored — becomes an item of its
 * own, outside every user's partition and sealed as personal data is, and stays until Apple answers
 * 2xx to its revocation: first tried on that item's own stream record, then by `sweep()`, which a
 * schedule runs and which reports the oldest one's age (alarmed on).
 */
export function createAppleTokens(deps: {
  dynamo: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  pii: PiiCipher;
  logger: Logger;
  metrics: Metrics;
  /** Absent where the zone has no Sign in with Apple key: tokens then wait (and alarm). */
  appleId?: AppleIdClient;
}) {
  const { dynamo, table, clock, pii, logger } = deps;

  /** Keeps a sealed token until it is revoked; the same id twice is kept once (stream retries). */
  async function keep(pending: PendingRevocation): Promise<void> {
    const put = new PutCommand({
      TableName: table,
      Item: {
        ...itemKeys.appleRevocation(pending.id),
        entity: 'apple_revocation',
        revocation_id: pending.id,
        sealed_for: pending.sealedFor,
        apple_refresh_token: pending.sealedToken,
        apple_client_id: pending.clientId,
        queued_at: pending.queuedAt,
        attempts: 0,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
    await unlessConditionFails(dynamo.send(put), undefined);
  }

  /** A token we got but will not store: sealed under the revocation's own id, and kept for revocation. */
  async function discard(refreshToken: string, clientId: string): Promise<void> {
    const id = randomUUID();
    const sealedToken = await pii.seal(id, 'apple_refresh_token', refreshToken);
    await keep({ id, sealedFor: id, sealedToken, clientId, queuedAt: clock.now().toISOString() });
    logger.info('apple token queued for revocation', { revocationId: id, reason: 'not_kept' });
  }

  /** Asks Apple once; deletes the item on a 2xx, else notes the failure on it. Never throws. */
  async function attempt(pending: PendingRevocation): Promise<'revoked' | string> {
    try {
      if (!deps.appleId) throw new AppleRevocationError('no_apple_key');
      const token = await pii.open(pending.sealedFor, 'apple_refresh_token', pending.sealedToken);
      await deps.appleId.revoke(token, pending.clientId);
    } catch (err) {
      const error = err instanceof AppleRevocationError ? err.error : (err as Error).name;
      logger.warn('apple token not revoked yet', { revocationId: pending.id, error });
      await noteFailure(pending.id, error).catch((e) =>
        logger.error('apple revocation not updated', { revocationId: pending.id, errorName: (e as Error).name }),
      );
      return error;
    }
    await dynamo.send(new DeleteCommand({ TableName: table, Key: itemKeys.appleRevocation(pending.id) }));
    logger.info('apple token revoked', { revocationId: pending.id });
    return 'revoked';
  }

  // A MODIFY record: the stream handler attempts on INSERT only, so this does not loop.
  const noteFailure = (id: string, error: string) =>
    unlessConditionFails(
      dynamo.send(
        new UpdateCommand({
          TableName: table,
          Key: itemKeys.appleRevocation(id),
          ConditionExpression: 'attribute_exists(PK)',
          UpdateExpression: 'SET attempts = attempts + :one, last_error = :error, last_attempt_at = :now',
          ExpressionAttributeValues: { ':one': 1, ':error': error, ':now': clock.now().toISOString() },
        }),
      ),
      undefined,
    );

  const pendingOfItem = (item: Record<string, unknown>): PendingRevocation => ({
    id: item.revocation_id as string,
    sealedFor: item.sealed_for as string,
    sealedToken: item.apple_refresh_token as string,
    clientId: (item.apple_client_id as string | undefined) ?? '',
    queuedAt: item.queued_at as string,
  });

  return {
    /**
     * Apple's refresh token for the code, when the code belongs to the account signing in (the
     * `sub` of the `id_token` Apple returns with it); otherwise the grant is queued for revocation
     * and `ForeignAuthorizationCodeError` thrown. Exchange errors pass through.
     */
    async redeem(code: string, identity: ExternalIdentity): Promise<string> {
      if (!deps.appleId) throw new Error('No Sign in with Apple key in this zone');
      const grant = await deps.appleId.exchange(code, identity.clientId);
      if (grant.subject !== identity.subject) {
        await discard(grant.refreshToken, identity.clientId);
        throw new ForeignAuthorizationCodeError('The authorization code is not of the Apple account that signed in');
      }
      return grant.refreshToken;
    },

    discard,

    /**
     * The token a profile's stream record stops keeping (the account deleted, or a sign-in storing a
     * newer one), kept for revocation under the record's id. Throws when the write fails: the stream
     * retries the record, so the token is never dropped.
     */
    async captureFrom(record: DynamoDBRecord): Promise<void> {
      const { OldImage: old, NewImage: next, ApproximateCreationDateTime: seconds } = record.dynamodb ?? {};
      const sealed = old?.apple_refresh_token?.S;
      const userId = itemKeys.userIdOf(old?.PK?.S ?? '');
      if (old?.SK?.S !== 'PROFILE' || !sealed || !userId || next?.apple_refresh_token?.S === sealed) return;
      const id = record.eventID ?? `${record.dynamodb?.SequenceNumber}`;
      const queuedAt = new Date((seconds ?? clock.now().getTime() / 1000) * 1000).toISOString();
      await keep({ id, sealedFor: userId, sealedToken: sealed, clientId: old.apple_client_id?.S ?? '', queuedAt });
      const reason = record.eventName === 'REMOVE' ? 'account_deleted' : 'replaced';
      logger.info('apple token queued for revocation', { revocationId: id, userId, reason });
    },

    /** The revocation a stream record newly queued, to be attempted at once. */
    pendingOf(record: DynamoDBRecord): PendingRevocation | undefined {
      const image: Image | undefined = record.dynamodb?.NewImage;
      const inserted = record.eventName === 'INSERT' && image?.PK?.S === pendingPartition;
      if (!inserted || !image.revocation_id?.S) return undefined;
      const item = Object.fromEntries(Object.entries(image).flatMap(([k, v]) => (v.S !== undefined ? [[k, v.S]] : [])));
      return pendingOfItem(item);
    },

    attempt,

    /**
     * Attempts the oldest pending revocations; emits how many still wait and the oldest one's age,
     * the metrics the alarm reads. For the scheduled sweep (`dispatch.ts`).
     */
    async sweep(): Promise<{ revoked: number; pending: number; oldestAgeSeconds: number }> {
      const items: PendingRevocation[] = [];
      const pages = paginateQuery(
        { client: dynamo },
        {
          TableName: table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': pendingPartition },
          ConsistentRead: true,
        },
      );
      for await (const page of pages) items.push(...(page.Items ?? []).map(pendingOfItem));
      items.sort((a, b) => a.queuedAt.localeCompare(b.queuedAt));
      const left = items.slice(sweepBatch);
      for (let i = 0; i < Math.min(items.length, sweepBatch); i += sweepConcurrency) {
        const batch = items.slice(i, Math.min(i + sweepConcurrency, sweepBatch));
        const outcomes = await Promise.all(batch.map(attempt));
        left.push(...batch.filter((_, j) => outcomes[j] !== 'revoked'));
      }
      const now = clock.now().getTime();
      const oldestAgeSeconds = Math.max(0, ...left.map((p) => Math.floor((now - Date.parse(p.queuedAt)) / 1000)));
      deps.metrics.addMetric(platformMetrics.appleRevocationsPending, MetricUnit.Count, left.length);
      deps.metrics.addMetric(platformMetrics.appleRevocationOldestAge, MetricUnit.Seconds, oldestAgeSeconds);
      deps.metrics.publishStoredMetrics();
      if (left.length) logger.warn('apple revocations pending', { pending: left.length, oldestAgeSeconds });
      return { revoked: items.length - left.length, pending: left.length, oldestAgeSeconds };
    },
  };
}

export type AppleTokens = ReturnType<typeof createAppleTokens>;
