import type { EventEmitter } from 'node:events';
import type { S3Event } from 'aws-lambda';
import { tempBucketLayout } from '../../contract';
import type { S3Local } from './s3-local';

/**
 * Does offline what the temp bucket's notification does in AWS: every `ObjectCreated` on
 * `jobs/…/input` goes to the worker, in the event shape AWS sends (the key URL-encoded, the
 * zone's region). `settled()` resolves once every upload seen so far has been handled.
 */
export function forwardUploads(
  s3: S3Local,
  options: {
    bucket: string;
    region: string;
    handler: (event: S3Event) => Promise<void>;
    onError: (err: unknown) => void;
  },
) {
  const running = new Set<Promise<void>>();
  // s3rver is a Koa app, an EventEmitter; its typings leave that out.
  (s3.server as unknown as EventEmitter).on('event', (event: S3Event) => {
    const record = event.Records?.[0];
    const key = record?.s3.object.key ?? '';
    if (!record?.eventName.startsWith('ObjectCreated:') || record.s3.bucket.name !== options.bucket) return;
    // The notification's filter in AWS: the prefix and suffix, nothing more.
    if (!key.startsWith(tempBucketLayout.jobsPrefix) || !key.endsWith(tempBucketLayout.inputSuffix)) return;
    const awsShaped: S3Event = {
      Records: [
        {
          ...record,
          awsRegion: options.region,
          s3: { ...record.s3, object: { ...record.s3.object, key: encodeURIComponent(key).replace(/%2F/g, '/') } },
        },
      ],
    };
    const run = options.handler(awsShaped).catch(options.onError);
    running.add(run);
    void run.finally(() => running.delete(run));
  });
  return {
    async settled(): Promise<void> {
      while (running.size) await Promise.all(running);
    },
  };
}
