import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { refuseForeignHosts } from './listen';

export interface S3Local {
  endpoint: string;
  server: S3rver;
  stop(): Promise<void>;
}

/**
 * s3rver in-process on loopback, with the platform's buckets. s3rver always writes to disk:
 * without `dataDir` it gets a temporary folder that is removed on stop.
 */
export async function startS3Local(options: { buckets: string[]; dataDir?: string; port?: number }): Promise<S3Local> {
  const directory = options.dataDir ?? mkdtempSync(join(tmpdir(), 'serenya-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = (await server.run()) as { port: number };
  // s3rver makes its HTTP server in run(): the offline servers' Host check goes in front of it.
  refuseForeignHosts((server as S3rver & { httpServer: Server }).httpServer);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    async stop() {
      await server.close();
      if (!options.dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}
