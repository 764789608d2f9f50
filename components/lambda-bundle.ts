import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

/** The one Lambda entry; the api, worker and stream functions all run this bundle. */
export const lambdaEntry = fileURLToPath(new URL('../handlers/lambda.ts', import.meta.url));

/**
 * Bundles the runtime for Lambda (nodejs22.x, arm64): ESM, minified, the AWS SDK included so
 * the deployed code runs the SDK version the tests ran. ESM bundles of CommonJS dependencies
 * call `require`, which ESM lacks, hence the `createRequire` banner.
 */
export async function bundleLambda(outdir: string): Promise<{ file: string; metafile: Metafile }> {
  mkdirSync(outdir, { recursive: true });
  const file = join(outdir, 'index.mjs');
  const result = await build({
    entryPoints: [lambdaEntry],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return { file, metafile: result.metafile };
}
