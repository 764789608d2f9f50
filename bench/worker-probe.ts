import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { createLogger } from '../handlers/core/logger';
import { createServices } from '../handlers/services/services';
import { tempBucketLayout } from '../contract';
import { createJobStore } from '../handlers/domain/jobs/job-store';
import { createUploadWorker } from '../handlers/domain/jobs/upload-worker';
import { generateLocalKeys } from '../local/local-keys';
import { createLocalDeps } from '../local/local-deps';
import { offlineConfig } from '../local/offline-config';

/**
 * Runs in a process of its own so that its memory is the worker's alone: handles one upload
 * event and reports the duration and how far the peak RSS rose above the RSS before it; then the
 * small documents, one event each, with memory samples along the way.
 */
const env = process.env as Record<string, string>;
const config = offlineConfig({
  apiUrl: 'http://127.0.0.1:3000',
  usersTable: env.BENCH_TABLE,
  tempBucket: env.BENCH_BUCKET,
});
const { deps } = createLocalDeps({
  config,
  endpoints: { dynamodb: env.BENCH_DYNAMODB!, s3: env.BENCH_S3!, bedrock: env.BENCH_BEDROCK! },
  keys: generateLocalKeys(),
  logger: createLogger(config.zone, 'SILENT'),
});
const worker = createUploadWorker(createServices(deps).jobs, deps.model, deps.logger);
const key = tempBucketLayout.input(env.BENCH_USER!, env.BENCH_JOB!);
const event = {
  Records: [
    {
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Post',
      awsRegion: config.region,
      s3: { bucket: { name: config.tempBucket }, object: { key, size: Number(env.BENCH_SIZE) } },
    },
  ],
};

/**
 * Memory after a full GC: what V8 holds (used, reserved, resident, the young generation's share),
 * what buffers hold outside it, and the kernel's anonymous vs file-backed RSS.
 */
function memory(documents: number) {
  globalThis.gc?.();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? NaN;
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const heapPhysical = v8.getHeapStatistics().total_physical_size;
  const kernel = { rssAnon: kib('RssAnon'), rssFile: kib('RssFile') };
  return { documents, rss, heapUsed, heapTotal, newSpace, heapPhysical, external, arrayBuffers, ...kernel };
}

globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
await worker(event as never);
const durationMs = performance.now() - t0;
const job = await createJobStore(deps).get(env.BENCH_USER!, env.BENCH_JOB!);
// The peak of the one big document, before the leak check runs anything else.
const peakRss = process.resourceUsage().maxRSS * 1024;

// Then many small documents, one after another, memory sampled after a full GC at the counts asked
// for: whether anything accumulates per job, and where RSS levels off.
const leakJobs = (env.BENCH_LEAK_JOBS ?? '').split(',').filter(Boolean);
const sampleAt = new Set((env.BENCH_SAMPLE_AT ?? '').split(',').filter(Boolean).map(Number));
const samples = [];
const t1 = performance.now();
for (const [i, leakJob] of leakJobs.entries()) {
  const leakKey = tempBucketLayout.input(env.BENCH_USER!, leakJob);
  await worker({
    Records: [{ ...event.Records[0]!, s3: { bucket: { name: config.tempBucket }, object: { key: leakKey, size: 1 } } }],
  } as never);
  if (sampleAt.has(i + 1)) samples.push(memory(i + 1));
}
const smallDocumentsMs = performance.now() - t1;
const last = leakJobs.length ? await createJobStore(deps).get(env.BENCH_USER!, leakJobs.at(-1)!) : undefined;
const big = { durationMs, rssBefore, peakRss, status: job?.status, error: job?.error?.code };
console.log(JSON.stringify({ ...big, samples, smallDocumentsMs, lastStatus: last?.status }));
// SDK clients keep sockets open; the measurement is done.
process.exit(0);
