import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { refuseForeignHosts } from '../listen';
import { bucketRegions, enforcePostPolicy, recordBucketRegions } from './s3-post-policy';

/** s3rver's key pairs (the one it has is the offline credentials'): a presigned POST is signed with one of them. */
const accounts = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
  registry: Map<string, { accessKeys: Map<string, string> }>;
};
const secretOf = (accessKeyId: string) => accounts.registry.get(accessKeyId)?.accessKeys.get(accessKeyId);

/** Puts a middleware in front of s3rver's routes (Koa composes them when the server starts). */
function beforeRoutes(server: S3rver, middleware: unknown) {
  const stack = (server as S3rver & { middleware: Array<{ name: string }> }).middleware;
  const routes = stack.findIndex((fn) => fn.name === 'dispatch');
  if (routes < 0) throw new Error("s3rver's routes were not found: check the s3rver version");
  stack.splice(routes, 0, middleware as { name: string });
}

export interface S3Local {
  endpoint: string;
  server: S3rver;
  stop(): Promise<void>;
}

/**
 * s3rver in-process on loopback, with the platform's buckets. s3rver always writes to disk:
 * without `dataDir` it gets a temporary folder that is removed on stop. s3rver stores any POST;
 * here a presigned POST is first checked as S3 checks it (`s3-post-policy.ts`).
 */
export async function startS3Local(options: {
  /** Buckets made at start, in `region`; tests make theirs with CreateBucket. */
  buckets: string[];
  /** The region of the buckets made at start (the zone's). @default us-east-1, as S3's CreateBucket */
  region?: string;
  dataDir?: string;
  port?: number;
}): Promise<S3Local> {
  const directory = options.dataDir ?? mkdtempSync(join(tmpdir(), 'serenya-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const regions = bucketRegions(options.buckets, options.region);
  beforeRoutes(server, recordBucketRegions(regions));
  beforeRoutes(server, enforcePostPolicy({ secretOf, regionOf: (bucket) => regions.get(bucket) }));
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
