import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pack's folder: what `pulumi preview --policy-pack` names. */
export const policyPackDir = dirname(fileURLToPath(import.meta.url));

/**
 * Bundles the pack into the CommonJS file its `package.json` names as `main`: Pulumi's runner
 * `require`s the folder under its own ts-node, which refuses this project's ESM TypeScript. The
 * Pulumi packages stay outside the bundle (the pack's dependencies), so the runner and the pack
 * share one `@pulumi/pulumi`.
 */
export async function buildPolicyPack(): Promise<void> {
  await build({
    entryPoints: [join(policyPackDir, 'pack.ts')],
    outfile: join(policyPackDir, 'dist', 'pack.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    packages: 'external',
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(
      "Usage: npm run build:policy\n\nBundles the policy pack into policy/dist/pack.cjs, what Pulumi's runner loads.",
    );
  } else {
    await buildPolicyPack();
  }
}
