import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { itemKeys, tempBucketLayout } from '../contract';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { systemClock } from '../handlers/clock';
import { createJobStore } from '../handlers/jobs/job-store';
import { createLogger } from '../handlers/logger';
import { startBedrockStandIn } from '../local/bedrock-stand-in';
import type { DynamoDbLocal } from '../local/dynamodb-local';
import { createLocalDeps } from '../local/local-deps';
import { generateLocalKeys } from '../local/keys';
import { offlineConfig } from '../local/offline-config';
import { startS3Local } from '../local/s3-local';
import { ensureUsersTable } from '../local/users-table';
import { pdf } from '../test/support/documents';

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

/** Duration and peak memory of the worker on a 4.5 MB PDF: upload → worker → Bedrock stand-in → result. */
export async function measureWorker(dynamodb: DynamoDbLocal) {
  const s3 = await startS3Local({ buckets: [] });
  const bedrock = await startBedrockStandIn();
  try {
    const config = offlineConfig({ apiUrl: 'http://127.0.0.1:3000', usersTable: 'serenya-bench-worker', tempBucket: 'serenya-bench-worker-temp' });
    const { deps, clients } = createLocalDeps({ config, endpoints: { dynamodb: dynamodb.endpoint, s3: s3.endpoint, bedrock: bedrock.endpoint }, keys: generateLocalKeys(), logger: createLogger('dev', 'SILENT') });
    await ensureUsersTable(clients.dynamoClient, config.usersTable);
    await clients.s3.send(new CreateBucketCommand({ Bucket: config.tempBucket }));
    const userId = randomUUID();
    const jobId = randomUUID();
    // A job is reserved only for a live account (the deletion fence).
    await deps.dynamo.send(new PutCommand({ TableName: config.usersTable, Item: { ...itemKeys.profile(userId), entity: 'user', id: userId } }));
    await createJobStore({ dynamo: deps.dynamo, config, clock: systemClock }).reserve({ userId, jobId, type: 'document', contentType: 'application/pdf', daily: { counter: 'documents', limit: 1_000_000 } });
    const document = bigPdf();
    await clients.s3.send(new PutObjectCommand({ Bucket: config.tempBucket, Key: tempBucketLayout.input(userId, jobId), Body: document }));
    // 200 small lab reports for the leak check: job records written directly (the concurrency
    // limit is the API's business, not the worker's), inputs uploaded.
    const leakJobs = Array.from({ length: 200 }, () => randomUUID());
    const now = new Date().toISOString();
    for (const leakJob of leakJobs) {
      await deps.dynamo.send(new PutCommand({ TableName: config.usersTable, Item: { ...itemKeys.job(userId, leakJob), entity: 'job', job_id: leakJob, user_id: userId, type: 'document', status: 'awaiting_upload', content_type: 'text/plain', created_at: now, updated_at: now } }));
      await clients.s3.send(new PutObjectCommand({ Bucket: config.tempBucket, Key: tempBucketLayout.input(userId, leakJob), Body: 'Hemoglobin 13.5 g/dL (12.0-15.5)\nGlucose 112 mg/dL (70-99)\n'.repeat(200) }));
    }
    // Asynchronous: S3 and the stand-in answer the probe from this very process.
    const { stdout: out } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./worker-probe.ts', import.meta.url))], {
      env: {
        ...process.env,
        BENCH_DYNAMODB: dynamodb.endpoint, BENCH_S3: s3.endpoint, BENCH_BEDROCK: bedrock.endpoint,
        BENCH_TABLE: config.usersTable, BENCH_BUCKET: config.tempBucket, BENCH_USER: userId, BENCH_JOB: jobId, BENCH_SIZE: String(document.length),
        BENCH_LEAK_JOBS: leakJobs.join(','),
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const probe = JSON.parse(out.trim().split('\n').at(-1)!);
    if (probe.status !== 'completed') throw new Error(`worker bench: job ${probe.status} ${probe.error ?? ''}`);
    return {
      documentBytes: document.length,
      durationMs: probe.durationMs,
      rssGrowthBytes: Math.max(0, probe.peakRss - probe.rssBefore),
      rssAfter20: probe.rssAfter[20] as number,
      rssAfter200: probe.rssAfter[200] as number,
      heapAfter20: probe.heapAfter[20] as number,
      heapAfter200: probe.heapAfter[200] as number,
    };
  } finally {
    await Promise.all([s3.stop(), bedrock.stop()]);
  }
}
