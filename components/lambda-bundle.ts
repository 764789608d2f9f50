import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

/** The one Lambda bundle: api, worker and stream run its `handler`, chat its `streamHandler`. */
export const lambdaEntry = fileURLToPath(new URL('../handlers/edge/lambda.ts', import.meta.url));

/**
 * zod re-exports its ~50 translated error locales as a namespace, which keeps them all in a
 * bundle; the runtime uses English only (its messages never reach users verbatim anyway).
 */
const englishOnlyZod: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'node_modules'}/zod/`) ? { path: args.importer, namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from '../locales/en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/** A built bundle: its folder (the functions' code), its entry module and esbuild's account of it. */
export interface LambdaBundle {
  dir: string;
  file: string;
  metafile: Metafile;
}

/**
 * Bundles the runtime for Lambda (nodejs24.x, arm64): ESM, minified, the AWS SDK included so
 * the deployed code runs the SDK version the tests ran. Split into chunks: what only some
 * requests need (S3, KMS, the Encryption SDK, Bedrock, Secrets Manager) loads when first used,
 * not at every cold start. ESM bundles of CommonJS dependencies call `require`, hence the `createRequire` banner.
 */
export async function bundleLambda(outdir: string, entry = lambdaEntry): Promise<LambdaBundle> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const file = join(outdir, 'index.mjs');
  const result = await build({
    entryPoints: { index: entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [englishOnlyZod],
    // The SDK's client barrel reaches its browser user-agent parser, whose `import('bowser')` would be
    // a 33 KB chunk Lambda never loads (Node clients use the Node user agent): left unresolved.
    external: ['bowser'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return { dir: outdir, file, metafile: result.metafile };
}
