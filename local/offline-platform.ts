import { X509Certificate } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '../handlers/edge/runtime';
import { appleRootCaG3 } from '../handlers/domain/subscriptions/apple-root-ca-g3';
import { createLogger } from '../handlers/core/logger';
import { serveOfflineFrontDoor } from './front-door';
import { startAppleIdStandIn } from './stand-ins/apple-id-stand-in';
import { faultsFromEnv, startBedrockStandIn } from './stand-ins/bedrock-stand-in';
import { loadOrCreateLocalAppStore } from './stand-ins/app-store-chain';
import { startDynamoDbLocal, untilDynamoDbAnswers } from './stand-ins/dynamodb-local';
import { loadOrCreateLocalKeys, localKeysExist } from './local-keys';
import { createLocalDeps } from './local-deps';
import { offlineConfig } from './offline-config';
import { startS3Local } from './stand-ins/s3-local';
import { startPlayDeveloperStandIn } from './stand-ins/play-developer-stand-in';
import { startScheduledSweeps } from './stand-ins/scheduled-sweeps';
import { startStreamPoller } from './stand-ins/stream-poller';
import { forwardUploads } from './stand-ins/upload-events';
import { dropUsersTable, ensureUsersTable } from './create-users-table';

export interface OfflinePlatformOptions {
  port: number;
  /** Keep DynamoDB and S3 data here across restarts; in memory when absent. */
  dataDir?: string;
  /** Where the local keys live (`.local/`). */
  keysDir: string;
  /**
   * A DynamoDB Local already running on loopback, to use instead of starting one.
   * @default a DynamoDB Local of the platform's own
   */
  dynamodb?: string;
  logLevel?: string;
}

/** The whole platform on 127.0.0.1, wired the way AWS wires it. Stop it with `stop()`. */
export async function startOfflinePlatform(options: OfflinePlatformOptions) {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    // New keys (a first start, or --fresh) cannot read items sealed with others.
    const keysAreNew = !localKeysExist(options.keysDir);
    const keys = loadOrCreateLocalKeys(options.keysDir);
    const apiUrl = `http://127.0.0.1:${options.port}`;
    const playStandIn = await startPlayDeveloperStandIn();
    stops.push(playStandIn.stop);
    const appleIdStandIn = await startAppleIdStandIn({ identityProviderKeyPem: keys.identityProviderKeyPem });
    stops.push(appleIdStandIn.stop);
    const config = offlineConfig({ apiUrl, playDeveloperApiUrl: playStandIn.url });
    const logger = createLogger(config.zone, options.logLevel);

    const dataDir = (name: string) => {
      if (!options.dataDir) return undefined;
      const dir = join(options.dataDir, name);
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    let dynamodb: { endpoint: string };
    if (options.dynamodb) {
      await untilDynamoDbAnswers(options.dynamodb).catch((err: Error) => {
        throw new Error(`${err.message}: is it running, on that port? Start it, or leave out --dynamodb`);
      });
      dynamodb = { endpoint: options.dynamodb };
    } else {
      const own = await startDynamoDbLocal({ dataDir: dataDir('dynamodb') });
      stops.push(own.stop);
      dynamodb = own;
    }
    const s3 = await startS3Local({
      buckets: [config.tempBucket, config.auditBucket],
      region: config.region,
      dataDir: dataDir('s3'),
    });
    stops.push(s3.stop);
    const bedrock = await startBedrockStandIn({ faults: faultsFromEnv(process.env) });
    stops.push(bedrock.stop);

    const appStore = await loadOrCreateLocalAppStore(options.keysDir);
    const { deps, clients } = createLocalDeps({
      config,
      endpoints: { dynamodb: dynamodb.endpoint, s3: s3.endpoint, bedrock: bedrock.endpoint },
      keys,
      logger,
      // Apple's root, and the offline App Store's, so `npm run store-notification` verifies here.
      appStoreRoots: [new X509Certificate(Buffer.from(appleRootCaG3, 'base64')), appStore.root],
      appleId: { url: appleIdStandIn.url, key: appleIdStandIn.key },
    });
    // A table kept from before (--data-dir, or a DynamoDB Local of yours) is sealed with the old keys.
    if (keysAreNew) await dropUsersTable(clients.dynamoClient, config.usersTable);
    await ensureUsersTable(clients.dynamoClient, config.usersTable);

    // The same front door as Lambda's: uploads and stream batches go through its dispatcher.
    const runtime = createRuntime(deps);
    const poller = startStreamPoller({
      dynamo: clients.dynamoClient,
      streams: clients.streams,
      table: config.usersTable,
      region: config.region,
      handler: runtime.streamBatches,
      onError: (err) => logger.warn('stream poll failed', { errorName: (err as Error).name }),
    });
    stops.push(poller.stop);

    const sweeps = startScheduledSweeps({
      region: config.region,
      handler: runtime.scheduled,
      onError: (err) => logger.error('scheduled sweeps failed', { errorName: (err as Error).name }),
    });
    stops.push(sweeps.stop);

    forwardUploads(s3, {
      bucket: config.tempBucket,
      region: config.region,
      handler: runtime.uploads,
      onError: (err) => logger.error('worker failed', { errorName: (err as Error).name }),
    });

    // The API as Lambda serves it, plus the offline-only API reference at /docs.
    const site = await serveOfflineFrontDoor(runtime.app, options.port);
    stops.push(site.close);

    return {
      url: apiUrl,
      config,
      endpoints: {
        dynamodb: dynamodb.endpoint,
        s3: s3.endpoint,
        bedrock: bedrock.endpoint,
        appleId: appleIdStandIn.url,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
