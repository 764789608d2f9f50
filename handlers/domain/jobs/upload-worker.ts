import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Event } from 'aws-lambda';
import { tempBucketLayout } from '../../../contract';
import type { Model } from './job';
import type { JobService } from './job-service';

/**
 * The worker: S3's `ObjectCreated` events for job inputs, each handed to the job service with the
 * model. The model is loaded when the first upload arrives, so the API's cold start never loads it.
 */
export function createUploadWorker(jobs: JobService, model: () => Promise<Model>, logger: Logger) {
  return async (event: S3Event): Promise<void> => {
    const run = await model();
    for (const record of event.Records ?? []) {
      // S3 URL-encodes the key in its events, with `+` for spaces.
      const ids = tempBucketLayout.parseInput(decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')));
      if (ids) await jobs.process(ids, run);
      else logger.warn('ignored object', { reason: 'not a job input' });
    }
  };
}
