import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { platformMetrics } from '../../../contract';
import type { PendingRevocation } from '../identity/apple-tokens';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { auditEventOf, auditObjectKey } from './audit-event';

/** What the stream does with Sign in with Apple tokens (`identity/apple-tokens.ts`). */
export interface StreamAppleTokens {
  /** Keeps a token the record stops keeping, for revocation; throws when that write fails. */
  captureFrom(record: DynamoDBRecord): Promise<void>;
  pendingOf(record: DynamoDBRecord): PendingRevocation | undefined;
  /** Asks Apple once; never throws. */
  attempt(pending: PendingRevocation): Promise<unknown>;
}

/**
 * The users table's stream → audit objects. Records are handled in order, each in two steps that
 * call only this zone's AWS services: its audit object (first, alone), then keeping a Sign in with
 * Apple token it stops holding. The first failure and everything after it are reported as batch
 * item failures, so Lambda retries from there and nothing is lost or reordered; object keys derive
 * from the record id, so a retry overwrites. Apple itself is asked only after the whole batch,
 * concurrently, and its answer fails nothing: a token Apple does not take stays queued.
 */
export function createStreamHandler(deps: {
  s3: () => Promise<S3Client>;
  auditBucket: string;
  zone: string;
  logger: Logger;
  metrics: Metrics;
  appleTokens?: StreamAppleTokens;
}) {
  async function writeAudit(record: DynamoDBRecord) {
    const audit = auditEventOf(record, deps.zone);
    if (!audit) return;
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
  }

  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const records = event.Records ?? [];
    const revocations: PendingRevocation[] = [];
    let failures: DynamoDBBatchResponse['batchItemFailures'] = [];
    for (const [i, record] of records.entries()) {
      let step = 'audit';
      try {
        await writeAudit(record);
        step = 'apple_token';
        await deps.appleTokens?.captureFrom(record);
      } catch (err) {
        failures = records.slice(i).map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' }));
        const errorName = (err as Error).name;
        deps.logger.error('stream record failed', {
          eventId: record.eventID,
          step,
          errorName,
          retried: failures.length,
        });
        break;
      }
      const pending = deps.appleTokens?.pendingOf(record);
      if (pending) revocations.push(pending);
    }
    await Promise.all(revocations.map((p) => deps.appleTokens!.attempt(p)));
    return { batchItemFailures: failures };
  };
}
