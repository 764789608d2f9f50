import { performance } from 'node:perf_hooks';
import { createLogger } from '../handlers/logger';
import { createPlatform } from '../handlers/platform';
import { tempBucketLayout } from '../contract';
import { createJobStore } from '../handlers/jobs/job-store';
import { createUploadWorker } from '../handlers/jobs/upload-worker';
import { generateLocalKeys } from '../local/keys';
import { createLocalDeps } from '../local/local-deps';
import { offlineConfig } from '../local/offline-config';

/**
 * Runs in a process of its own so that its memory is the worker's alone: handles one upload
 * event and reports the duration and how far the peak RSS rose above the RSS before it.
 */
const env = process.env as Record<string, string>;
const config = offlineConfig({ apiUrl: 'http://127.0.0.1:3000', usersTable: env.BENCH_TABLE, tempBucket: env.BENCH_BUCKET });
const { deps } = createLocalDeps({
  config,
  endpoints: { dynamodb: env.BENCH_DYNAMODB!, s3: env.BENCH_S3!, bedrock: env.BENCH_BEDROCK! },
  keys: generateLocalKeys(),
  logger: createLogger(config.zone, 'SILENT'),
});
const worker = createUploadWorker(createPlatform(deps).jobs, deps.model, deps.logger);
const key = tempBucketLayout.input(env.BENCH_USER!, env.BENCH_JOB!);
const event = { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Post', awsRegion: config.region, s3: { bucket: { name: config.tempBucket }, object: { key, size: Number(env.BENCH_SIZE) } } }] };

globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
await worker(event as never);
const durationMs = performance.now() - t0;
const job = await createJobStore(deps).get(env.BENCH_USER!, env.BENCH_JOB!);
// The peak of the one big document, before the leak check runs anything else.
const peakRss = process.resourceUsage().maxRSS * 1024;

// Then many small documents, one after another: RSS after the 20th and after the last, each after
// a full GC, shows whether anything accumulates per job.
const leakJobs = (env.BENCH_LEAK_JOBS ?? '').split(',').filter(Boolean);
const rssAfter: Record<number, number> = {};
const heapAfter: Record<number, number> = {};
for (const [i, leakJob] of leakJobs.entries()) {
  const leakKey = tempBucketLayout.input(env.BENCH_USER!, leakJob);
  await worker({ Records: [{ ...event.Records[0]!, s3: { bucket: { name: config.tempBucket }, object: { key: leakKey, size: 1 } } }] } as never);
  if (i + 1 === 20 || i + 1 === leakJobs.length) {
    globalThis.gc?.();
    rssAfter[i + 1] = process.memoryUsage().rss;
    heapAfter[i + 1] = process.memoryUsage().heapUsed;
  }
}
console.log(JSON.stringify({ durationMs, rssBefore, peakRss, status: job?.status, error: job?.error?.code, rssAfter, heapAfter }));
// SDK clients keep sockets open; the measurement is done.
process.exit(0);
