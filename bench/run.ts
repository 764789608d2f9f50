import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startDynamoDbLocal } from '../local/stand-ins/dynamodb-local';
import { measureAwsCalls } from './aws-calls-per-route';
import { measureBundle } from './bundle-size';
import { measureChatStream } from './chat-stream';
import { measureColdStarts } from './cold-start';
import { measureDynamoCeiling, measureOfflineLoad } from './offline-load';
import { measureWarmHandlers } from './warm-handler';
import { measureWorker } from './worker-memory';

/**
 * `npm run bench`: what a mobile user and a platform owner pay for, beside the baselines a team
 * would otherwise pick, in one table (and `bench/results.json`). Budgets print PASS or FAIL; the
 * bench never fails a build — figures belong here, not in tests.
 */
interface Row {
  part: string;
  measure: string;
  value: string;
  baseline: string;
  budget: string;
  pass?: boolean;
}

const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const usage = `Usage: npm run bench

Measures bundle size, cold start, warm handler, offline end to end, the worker and AWS calls per
request beside their baselines (about a minute; needs only npm install). Prints one table with
PASS/FAIL per budget, writes bench/results.json and puts the table into docs/performance.md.`;

/** The page that shows the latest run: the table goes between these markers. */
const performancePage = here('../docs/performance.md');
const tableMarkers = ['<!-- bench table: written by npm run bench -->', '<!-- end of bench table -->'] as const;

function writeTableInto(page: string, table: string) {
  const text = readFileSync(page, 'utf8');
  const [start, end] = tableMarkers.map((m) => text.indexOf(m));
  if (start! < 0 || end! < start!)
    throw new Error(`${page} lost its bench table markers; put them back: ${tableMarkers.join(' … ')}`);
  writeFileSync(
    page,
    `${text.slice(0, start! + tableMarkers[0].length)}\n\n\`\`\`\n${table}\n\`\`\`\n\n${text.slice(end!)}`,
  );
}

async function main() {
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) return void console.log(usage);
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'serenya-bench-'));
  const rows: Row[] = [];
  const dynamodb = await startDynamoDbLocal();
  try {
    console.error('bench: bundles…');
    const serenya = await measureBundle(join(work, 'serenya'));
    const express = await measureBundle(join(work, 'express'), here('./baselines/express-lambda.ts'));
    const hello = await measureBundle(join(work, 'hello'), here('./baselines/hello.ts'));
    const apple = await measureBundle(join(work, 'apple'), here('./baselines/apple-library.ts'));
    rows.push(
      {
        part: '1 bundle',
        measure: 'Lambda bundle, minified (all chunks)',
        value: kb(serenya.bytes),
        baseline: `Express: ${kb(express.bytes)}`,
        budget: '≤ 1500 KB',
        pass: serenya.bytes <= 1500 * 1024,
      },
      {
        part: '1 bundle',
        measure: 'Lambda bundle, gzipped',
        value: kb(serenya.gzipBytes),
        baseline: `Express: ${kb(express.gzipBytes)}`,
        budget: '—',
      },
      {
        part: '1 bundle',
        measure: `API cold path (entry + static chunks; ${serenya.lazyChunks} lazy chunks)`,
        value: kb(serenya.coldPathBytes),
        baseline: `Express: ${kb(express.coldPathBytes)}`,
        budget: '≤ 600 KB',
        pass: serenya.coldPathBytes <= 600 * 1024,
      },
      {
        part: '1 bundle',
        measure: 'API cold path, biggest packages',
        value: serenya.coldPathInputs
          .slice(0, 6)
          .map((i) => `${i.name} ${kb(i.bytes)}`)
          .join(', '),
        baseline: '—',
        budget: '—',
      },
      {
        part: '1 bundle',
        measure: '@apple/app-store-server-library alone (not used)',
        value: '—',
        baseline: kb(apple.bytes),
        budget: '—',
      },
    );

    console.error('bench: cold starts (15 fresh processes each)…');
    const cold = await measureColdStarts({
      dynamodb,
      bundles: { serenya: serenya.file, express: express.file, hello: hello.file },
      workdir: work,
    });
    rows.push(
      {
        part: '2 cold start',
        measure: 'GET /api/v1/user/profile, fresh process, median',
        value: ms(cold.medianMs.serenya),
        baseline: `Express: ${ms(cold.medianMs.express)}`,
        budget: '≤ 0.6 × Express',
        pass: cold.medianMs.serenya <= 0.6 * cold.medianMs.express,
      },
      {
        part: '2 cold start',
        measure: 'same, above the hello-world floor',
        value: ms(cold.medianMs.serenya - cold.medianMs.hello),
        baseline: `floor: ${ms(cold.medianMs.hello)}`,
        budget: '≤ floor + 120 ms',
        pass: cold.medianMs.serenya <= cold.medianMs.hello + 120,
      },
    );

    console.error('bench: warm handlers…');
    const warm = await measureWarmHandlers();
    const warmBudgets: Record<string, number> = { health: 5, status: 3 };
    for (const [route, r] of Object.entries(warm)) {
      const ratio = r.hono!.opsPerSecond / r.express!.opsPerSecond;
      const budget = warmBudgets[route];
      rows.push({
        part: '3 warm handler',
        measure: `${route}: ops/s (p99)`,
        value: `${r.hono!.opsPerSecond.toFixed(0)} (${ms(r.hono!.p99Ms)})`,
        baseline: `Express: ${r.express!.opsPerSecond.toFixed(0)} (${ms(r.express!.p99Ms)}) → ${ratio.toFixed(2)}×`,
        budget: budget ? `≥ ${budget} × Express` : '— (same design; see next row)',
        pass: budget ? ratio >= budget : undefined,
      });
    }
    const todays = warm.profile!.todaysDesign!;
    const vsToday = warm.profile!.hono!.opsPerSecond / todays.opsPerSecond;
    rows.push({
      part: '3 warm handler',
      measure: "profile vs today's design (Express, 2 round trips, a message per field)",
      value: `${warm.profile!.hono!.opsPerSecond.toFixed(0)} (${ms(warm.profile!.hono!.p99Ms)})`,
      baseline: `${todays.opsPerSecond.toFixed(0)} (${ms(todays.p99Ms)}) → ${vsToday.toFixed(2)}×`,
      budget: "≥ 3 × today's design",
      pass: vsToday >= 3,
    });

    console.error('bench: offline end to end (autocannon, 50 connections, 10 s a route)…');
    const load = await measureOfflineLoad();
    const ceiling = await measureDynamoCeiling(dynamodb);
    rows.push({
      part: '4 offline e2e',
      measure: "DynamoDB Local's own ceiling: consistent GetItem req/s, p50, p99, errors",
      value: `${ceiling.requestsPerSecond.toFixed(0)}, ${ms(ceiling.p50Ms)}, ${ms(ceiling.p99Ms)}, ${ceiling.errors}`,
      baseline: '—',
      budget: '—',
    });
    for (const [route, r] of Object.entries(load)) {
      const share = r.requestsPerSecond / ceiling.requestsPerSecond;
      rows.push({
        part: '4 offline e2e',
        measure: `${route}: req/s, p50, p99, errors`,
        value: `${r.requestsPerSecond.toFixed(0)}, ${ms(r.p50Ms)}, ${ms(r.p99Ms)}, ${r.errors}`,
        baseline: `${(share * 100).toFixed(0)} % of the ceiling`,
        budget: route === 'status' ? '≥ 70 % of the ceiling, 0 errors' : '0 errors',
        pass: r.errors === 0 && (route !== 'status' || share >= 0.7),
      });
    }

    console.error('bench: AWS calls per request…');
    const calls = await measureAwsCalls(dynamodb);
    for (const c of calls) {
      const kmsBudget = c.label.startsWith('profile, cold') ? 1 : 0;
      rows.push({
        part: '6 AWS calls',
        measure: `${c.label}: DynamoDB round trips, KMS calls, S3 calls`,
        value: `${c.dynamodb}, ${c.kms}, ${c.s3}`,
        baseline: '—',
        budget: `1 DynamoDB, ≤ ${kmsBudget} KMS`,
        pass: c.dynamodb === 1 && c.kms <= kmsBudget,
      });
    }

    console.error('bench: a chat answer, streamed and polled…');
    const chat = await measureChatStream();
    rows.push(
      {
        part: '7 chat',
        measure: `streamed (${chat.deltas} deltas, ${chat.deltaDelayMs} ms apart): first delta`,
        value: ms(chat.firstDeltaMs),
        baseline: `polled, complete answer: ${ms(chat.polledCompleteMs)}`,
        budget: '≤ 0.25 × polled',
        pass: chat.firstDeltaMs <= 0.25 * chat.polledCompleteMs,
      },
      {
        part: '7 chat',
        measure: 'streamed: last delta (done event)',
        value: ms(chat.lastDeltaMs),
        baseline: `polled: submit, ${chat.polls} polls ${chat.pollIntervalMs / 1000} s apart, read`,
        budget: '≤ polled',
        pass: chat.lastDeltaMs <= chat.polledCompleteMs,
      },
    );

    console.error('bench: worker on a 4.5 MB PDF, then 1000 small documents…');
    const worker = await measureWorker(dynamodb);
    const after = (n: number) => worker.samples.find((s) => s.documents === n)!;
    const growth = (from: number, to: number) => (after(to).rss - after(from).rss) / after(from).rss;
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
    const seconds = (x: number) => `${(x / 1000).toFixed(0)} s`;
    rows.push(
      {
        part: '5 worker',
        measure: `${kb(worker.documentBytes)} PDF: upload → worker → stand-in → result`,
        value: ms(worker.durationMs),
        baseline: '—',
        budget: '—',
      },
      {
        part: '5 worker',
        measure: 'peak RSS growth',
        value: `${kb(worker.rssGrowthBytes)} (${(worker.rssGrowthBytes / worker.documentBytes).toFixed(1)} × document)`,
        baseline: `4 × document: ${kb(4 * worker.documentBytes)}`,
        budget: '≤ 4 × document',
        pass: worker.rssGrowthBytes <= 4 * worker.documentBytes,
      },
      {
        part: '5 worker',
        measure: 'RSS after 200 documents vs after 20 (GC between): the warm-up',
        value: `${kb(after(200).rss)} vs ${kb(after(20).rss)} (${pct(growth(20, 200))})`,
        baseline:
          `V8 young generation: ${kb(after(200).newSpace)} vs ${kb(after(20).newSpace)}; ` +
          `heap used: ${kb(after(200).heapUsed)} vs ${kb(after(20).heapUsed)}`,
        budget: '— (see the plateau)',
      },
      {
        part: '5 worker',
        measure: `plateau: RSS after 1000 documents vs after 500 (${seconds(worker.smallDocumentsMs)} for all 1000)`,
        value: `${kb(after(1000).rss)} vs ${kb(after(500).rss)} (${pct(growth(500, 1000))})`,
        baseline: `array buffers: ${kb(after(1000).arrayBuffers)} vs ${kb(after(500).arrayBuffers)}`,
        budget: 'grows ≤ 5 %',
        pass: growth(500, 1000) <= 0.05,
      },
    );

    const machine = {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
    };
    const table = [
      `Serenya bench — ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}`,
      '',
      '| part | measure | serenya | baseline | budget | result |',
      '|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.part} | ${r.measure} | ${r.value} | ${r.baseline} | ${r.budget} | ${r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL'} |`,
      ),
    ].join('\n');
    console.log(table);
    writeFileSync(
      here('./results.json'),
      `${JSON.stringify({ machine, date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), rows, raw: { serenya, express, hello, cold, warm, load, ceiling, worker, calls, chat } }, null, 2)}\n`,
    );
    writeTableInto(performancePage, table);
    console.error(
      `bench: done in ${Math.round((Date.now() - started) / 1000)} s; bench/results.json and docs/performance.md written.`,
    );
  } finally {
    await dynamodb.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
