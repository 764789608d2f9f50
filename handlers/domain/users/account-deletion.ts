import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { platformMetrics } from '../../../contract';
import type { Clock } from '../../core/clock';
import { deleteUserObjects } from './user-objects';
import type { UserRepository } from './user-repository';

/** A deletion the request did not finish waits this long before the sweeper takes it (no race with the request). */
const SWEEP_AFTER_SECONDS = 5 * 60;
/** Deletions one sweep finishes at most: a sweep stays well inside the function's timeout. */
const SWEEP_BATCH = 10;

/**
 * An account's erasure, which always finishes. The fence and a work item are written together
 * (`beginDeletion`); then the objects, the items, the sessions, the objects once more (for an
 * upload or result a job in flight wrote meanwhile), and the work item last. Every step repeats
 * safely, so whoever comes next finishes it: the request itself, a sign-in of the account, or the
 * scheduled sweep, which reports the age of the oldest deletion it could not finish (alarmed on).
 */
export function createAccountDeletion(deps: {
  users: UserRepository;
  s3: () => Promise<S3Client>;
  tempBucket: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}) {
  const { users, clock, logger } = deps;

  async function finish(userId: string): Promise<void> {
    await deleteUserObjects(deps.s3, deps.tempBucket, userId);
    await users.delete(userId);
    await deleteUserObjects(deps.s3, deps.tempBucket, userId);
    await users.endDeletion(userId);
  }

  return {
    finish,
    /** Finishes the account's deletion if one was cut short; true when there was one to finish. */
    async finishIfPending(userId: string): Promise<boolean> {
      if (!(await users.deletionPending(userId))) return false;
      await finish(userId);
      return true;
    },

    /** `DELETE /user/profile`: fenced and durable first; 'pending' when a step failed and the sweep will finish it. */
    async request(userId: string): Promise<'deleted' | 'pending'> {
      await users.beginDeletion(userId);
      try {
        await finish(userId);
        return 'deleted';
      } catch (err) {
        logger.warn('account deletion left to the sweep', { userId, errorName: (err as Error).name });
        return 'pending';
      }
    },

    /** Finishes the deletions older than a few minutes; for the scheduled run (`dispatch.ts`). */
    async sweep(): Promise<{ finished: number; failed: number; oldestAgeSeconds: number }> {
      const now = clock.now();
      const due = await users.pendingDeletions(new Date(now.getTime() - SWEEP_AFTER_SECONDS * 1000), SWEEP_BATCH);
      let finished = 0;
      const failed: string[] = [];
      for (const { userId, beganAt } of due) {
        try {
          await finish(userId);
          finished++;
        } catch (err) {
          failed.push(beganAt);
          logger.error('account deletion failed in the sweep', { userId, errorName: (err as Error).name });
        }
      }
      const oldestAgeSeconds = failed.length ? Math.floor((now.getTime() - Date.parse(failed.sort()[0]!)) / 1000) : 0;
      const metric = deps.metrics.singleMetric();
      metric.addMetric(platformMetrics.pendingDeletionAge, MetricUnit.Seconds, oldestAgeSeconds);
      metric.addMetric(platformMetrics.deletionFailures, MetricUnit.Count, failed.length);
      logger.info('account deletions swept', { finished, failed: failed.length, oldestAgeSeconds });
      return { finished, failed: failed.length, oldestAgeSeconds };
    },
  };
}

export type AccountDeletion = ReturnType<typeof createAccountDeletion>;
