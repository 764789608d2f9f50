import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { bundleLambda } from '../components/lambda-bundle';

const packageOf = (input: string) =>
  /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.split('/').slice(0, 2).join('/');

/** The chunks a cold start loads: the entry and everything it imports statically, not the lazy ones. */
function coldPath(metafile: Metafile, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (output: string) => {
    if (seen.has(output)) return;
    seen.add(output);
    for (const i of metafile.outputs[output]?.imports ?? [])
      if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(entry);
  return [...seen];
}

/** Bytes of a bundle (all its chunks), gzipped, its biggest inputs by package, and its cold path. */
export async function measureBundle(outdir: string, entry?: string) {
  const { dir, metafile } = await bundleLambda(outdir, entry);
  const outputs = Object.keys(metafile.outputs).filter((o) => o.endsWith('.mjs'));
  const bytes = (o: string) => statSync(o).size;
  const total = outputs.reduce((n, o) => n + bytes(o), 0);
  const gzip = outputs.reduce((n, o) => n + gzipSync(readFileSync(o)).length, 0);
  const entryOutput = outputs.find((o) => o.endsWith('/index.mjs'))!;
  const cold = coldPath(metafile, entryOutput);
  const packagesOf = (of: string[]) => {
    const byPackage = new Map<string, number>();
    for (const o of of) {
      for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[o]!.inputs)) {
        byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
      }
    }
    return [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, b]) => ({ name, bytes: b }));
  };
  const lazy = outputs.filter((o) => !cold.includes(o));
  return {
    dir,
    file: join(dir, 'index.mjs'),
    bytes: total,
    gzipBytes: gzip,
    coldPathBytes: cold.reduce((n, o) => n + bytes(o), 0),
    lazyChunks: lazy.length,
    biggestInputs: packagesOf(outputs),
    /** What a cold start loads, by package: where the cold path's bytes go. */
    coldPathInputs: packagesOf(cold.filter((o) => o.endsWith('.mjs'))),
  };
}
