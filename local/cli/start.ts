import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { auditBucketLayout, tempBucketLayout } from '../../contract';
import { startOfflinePlatform } from '../offline-platform';
import { printReadableLogs } from '../readable-logs';
import { parseStartOptions, startUsage } from './start-options';

async function main() {
  const { help, port, dataDir, fresh, jsonLogs, dynamodb } = parseStartOptions(process.argv.slice(2));
  if (help) return void console.log(startUsage);
  if (!jsonLogs) printReadableLogs();
  const keysDir = resolve('.local');
  if (fresh) {
    rmSync(keysDir, { recursive: true, force: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  // Metrics are CloudWatch's business; offline they would only bury the request logs.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

  console.log('Starting the Serenya platform offline…');
  const platform = await startOfflinePlatform({
    port,
    dataDir,
    keysDir,
    dynamodb,
    logLevel: process.env.POWERTOOLS_LOG_LEVEL,
  });
  const { config } = platform;
  console.log(`
Serenya platform (zone "${config.zone}", offline) — everything on 127.0.0.1, no cloud:

  API (Hono app)        ${platform.url}          OpenAPI: ${platform.url}/api/v1/openapi.json
  API reference         ${platform.url}/docs     Swagger UI, served from this machine; "Try it out" calls the local API
  DynamoDB Local        ${platform.endpoints.dynamodb}   table ${config.usersTable} (${dynamodb ? 'yours, --dynamodb' : dataDir ? `data in ${dataDir}` : 'in memory'})
  S3 (s3rver)           ${platform.endpoints.s3}   buckets ${config.tempBucket}, ${config.auditBucket}
  Bedrock (stand-in)    ${platform.endpoints.bedrock}   Converse over HTTP/2; faults: SERENYA_STANDIN_THROTTLE_RATE, _DELAY_MS, _MALFORMED
  Uploads → worker      ${config.tempBucket} ObjectCreated ${tempBucketLayout.jobsPrefix}*${tempBucketLayout.inputSuffix} → worker (same bundle as the API)
  Audit stream          users-table stream → ${config.auditBucket}/${auditBucketLayout.eventsPrefix}
  Keys                  ${keysDir} (local AES, HMAC and RSA keys; --fresh makes new ones)
  Identity provider     local stand-in for Google and Apple: npm run token -- google <sub> <email> [name]
  App Store, Play       local App Store chain (npm run store-notification -- <storeAccountToken>), Play API stand-in

Try:
  curl -s ${platform.url}/health

The offline tour (sign in, upload, chat, premium, deletion, audit trail): docs/offline-tour.md. Ctrl-C stops everything.
`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the API, the worker, the stream poller, Bedrock, S3 and DynamoDB Local…`);
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: Error & { code?: string; port?: number }) => {
  const advice =
    err.code === 'EADDRINUSE'
      ? ` — something else listens there; stop it or run npm start -- --port ${(err.port ?? 3000) + 1}`
      : '';
  console.error(`npm start failed: ${err.message}${advice}`);
  process.exit(1);
});
