import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { itemKeys, platformMetrics } from '../../contract';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { auditEventOf, auditObjectKey } from './audit-event';

/**
 * The users table's stream → audit objects. Records are handled in order; the first failure
 * and everything after it are reported as batch item failures, so Lambda retries from there
 * and nothing is lost or reordered. Object keys derive from the record id: a retry overwrites.
 */
export function createStreamHandler(deps: {
  s3: () => Promise<S3Client>;
  auditBucket: string;
  zone: string;
  logger: Logger;
  metrics: Metrics;
  /** Revokes a deleted user's Sign in with Apple refresh token (sealed, as the old image holds it). */
  revokeApple?: (userId: string, sealedRefreshToken: string, clientId: string) => Promise<string>;
}) {
  /**
   * A deleted account's Apple tokens are revoked here, after the deletion answered: deletion never
   * waits on Apple, and a failed revocation is retried with the record. Logged by outcome only.
   */
  async function revokeAppleOf(record: DynamoDBRecord) {
    const old = record.dynamodb?.OldImage;
    if (record.eventName !== 'REMOVE' || old?.SK?.S !== 'PROFILE' || !old.apple_refresh_token?.S || !deps.revokeApple) return;
    const userId = itemKeys.userIdOf(old.PK?.S ?? '') ?? '';
    const outcome = await deps.revokeApple(userId, old.apple_refresh_token.S, old.apple_client_id?.S ?? '');
    deps.logger.info('apple tokens revoked', { userId, outcome });
  }

  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const records = event.Records ?? [];
    for (const [i, record] of records.entries()) {
      try {
        await revokeAppleOf(record);
        const audit = auditEventOf(record, deps.zone);
        if (!audit) continue;
        const { PutObjectCommand } = await import('@aws-sdk/client-s3');
        await (await deps.s3()).send(
          new PutObjectCommand({
            Bucket: deps.auditBucket,
            Key: auditObjectKey(audit),
            Body: JSON.stringify(audit),
            ContentType: 'application/json',
          }),
        );
        deps.logger.info('audit event written', { eventId: audit.eventId, type: audit.type, userId: audit.userId });
        // The executive and security dashboards count these (registrations, sign-ins, revocations).
        const metric = deps.metrics.singleMetric();
        metric.addDimension('type', audit.type);
        metric.addMetric(platformMetrics.auditEvents, MetricUnit.Count, 1);
      } catch (err) {
        const failed = records.slice(i).map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' }));
        deps.logger.error('audit record failed', { eventId: record.eventID, errorName: (err as Error).name, retried: failed.length });
        return { batchItemFailures: failed };
      }
    }
    return { batchItemFailures: [] };
  };
}
