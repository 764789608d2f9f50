import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { itemKeys, tempBucketLayout } from '../contract';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { systemClock } from '../handlers/core/clock';
import { createJobStore } from '../handlers/domain/jobs/job-store';
import { createLogger } from '../handlers/core/logger';
import { startBedrockStandIn } from '../local/stand-ins/bedrock-stand-in';
import type { DynamoDbLocal } from '../local/stand-ins/dynamodb-local';
import { createLocalDeps } from '../local/local-deps';
import { generateLocalKeys } from '../local/local-keys';
import { offlineConfig } from '../local/offline-config';
import { startS3Local } from '../local/stand-ins/s3-local';
import { ensureUsersTable } from '../local/create-users-table';
import { pdf } from '../local/fixtures/documents';

/** A lab report PDF just under Bedrock's 4.5 MB document limit: ten results in pages of notes. */
function bigPdf(): Buffer {
  const lines = Array.from({ length: 10 }, (_, i) => `Analyte${i} ${i + 5}.5 mg/dL (10-90)`);
  for (let i = 0, size = 0; size < 3_800_000; i++) {
    const line = `Note ${i}: the specimen was received and processed under standard conditions.`;
    lines.push(line);
    size += line.length + 28; // with the PDF text operators around it
  }
  return pdf(lines);
}

export interface WorkerBenchOptions {
  /** Small documents after the big one, one after another in the same warm worker. @default 1000 */
  documents?: number;
  /** After how many of them memory is sampled (after a full GC). @default 20, 200, 500 and 1000 */
  sampleAt?: number[];
  /** Extra environment for the worker's process (e.g. `MALLOC_ARENA_MAX` to try the allocator). */
  env?: Record<string, string>;
}

/** The worker process's memory after a full GC, in bytes: `rssAnon` is heaps and buffers, `rssFile` mapped code. */
export interface WorkerMemorySample {
  documents: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** V8's young generation, resident. */
  newSpace: number;
  /** All of V8's heap spaces, resident. */
  heapPhysical: number;
  external: number;
  arrayBuffers: number;
  rssAnon: number;
  rssFile: number;
}

/** At most this many seeding requests at once: enough to keep DynamoDB Local and s3rver busy, not the machine. */
const seedConcurrency = 16;

async function inBatches<T>(items: T[], each: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += seedConcurrency) {
    await Promise.all(items.slice(i, i + seedConcurrency).map(each));
  }
}

/**
 * The worker in a process of its own on a 4.5 MB PDF (upload → worker → Bedrock stand-in → result):
 * its duration and peak memory; then `documents` small lab reports through the same warm worker,
 * its memory sampled along the way, to show whether it levels off.
 */
export async function measureWorker(dynamodb: DynamoDbLocal, options: WorkerBenchOptions = {}) {
  const documents = options.documents ?? 1000;
  const sampleAt = options.sampleAt ?? [20, 200, 500, 1000].filter((n) => n <= documents);
  const s3 = await startS3Local({ buckets: [] });
  const bedrock = await startBedrockStandIn();
  try {
    const config = offlineConfig({
      apiUrl: 'http://127.0.0.1:3000',
      usersTable: 'serenya-bench-worker',
      tempBucket: 'serenya-bench-worker-temp',
    });
    const { deps, clients } = createLocalDeps({
      config,
      endpoints: { dynamodb: dynamodb.endpoint, s3: s3.endpoint, bedrock: bedrock.endpoint },
      keys: generateLocalKeys(),
      logger: createLogger('dev', 'SILENT'),
    });
    await ensureUsersTable(clients.dynamoClient, config.usersTable);
    await clients.s3.send(new CreateBucketCommand({ Bucket: config.tempBucket }));
    const userId = randomUUID();
    const jobId = randomUUID();
    // A job is reserved only for a live account (the deletion fence).
    await deps.dynamo.send(
      new PutCommand({
        TableName: config.usersTable,
        Item: { ...itemKeys.profile(userId), entity: 'user', id: userId },
      }),
    );
    await createJobStore({ dynamo: deps.dynamo, config, clock: systemClock }).reserve({
      userId,
      jobId,
      type: 'document',
      contentType: 'application/pdf',
      daily: { counter: 'documents', limit: 1_000_000 },
    });
    const document = bigPdf();
    await clients.s3.send(
      new PutObjectCommand({ Bucket: config.tempBucket, Key: tempBucketLayout.input(userId, jobId), Body: document }),
    );
    // Small lab reports for the leak check: job records written directly (the concurrency
    // limit is the API's business, not the worker's), inputs uploaded.
    const leakJobs = Array.from({ length: documents }, () => randomUUID());
    const now = new Date().toISOString();
    const report = 'Hemoglobin 13.5 g/dL (12.0-15.5)\nGlucose 112 mg/dL (70-99)\n'.repeat(200);
    await inBatches(leakJobs, async (leakJob) => {
      const item = { entity: 'job', job_id: leakJob, user_id: userId, type: 'document', status: 'awaiting_upload' };
      const times = { content_type: 'text/plain', created_at: now, updated_at: now };
      await deps.dynamo.send(
        new PutCommand({ TableName: config.usersTable, Item: { ...itemKeys.job(userId, leakJob), ...item, ...times } }),
      );
      const key = tempBucketLayout.input(userId, leakJob);
      await clients.s3.send(new PutObjectCommand({ Bucket: config.tempBucket, Key: key, Body: report }));
    });
    // Asynchronous: S3 and the stand-in answer the probe from this very process.
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./worker-probe.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          BENCH_DYNAMODB: dynamodb.endpoint,
          BENCH_S3: s3.endpoint,
          BENCH_BEDROCK: bedrock.endpoint,
          BENCH_TABLE: config.usersTable,
          BENCH_BUCKET: config.tempBucket,
          BENCH_USER: userId,
          BENCH_JOB: jobId,
          BENCH_SIZE: String(document.length),
          BENCH_LEAK_JOBS: leakJobs.join(','),
          BENCH_SAMPLE_AT: sampleAt.join(','),
          ...options.env,
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
        encoding: 'utf8',
        timeout: 120_000 + documents * 200,
        maxBuffer: 1024 * 1024,
      },
    );
    const probe = JSON.parse(out.trim().split('\n').at(-1)!);
    if (probe.status !== 'completed') throw new Error(`worker bench: job ${probe.status} ${probe.error ?? ''}`);
    // A worker that failed the small documents fast would look flat for the wrong reason.
    if (probe.lastStatus !== 'completed') {
      throw new Error(`worker bench: the last small document's job ${probe.lastStatus}`);
    }
    return {
      documentBytes: document.length,
      durationMs: probe.durationMs,
      rssGrowthBytes: Math.max(0, probe.peakRss - probe.rssBefore),
      smallDocumentsMs: probe.smallDocumentsMs as number,
      samples: probe.samples as WorkerMemorySample[],
    };
  } finally {
    await Promise.all([s3.stop(), bedrock.stop()]);
  }
}
