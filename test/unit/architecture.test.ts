import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The runtime's house rules, read from the imports themselves (static, type-only and dynamic): the
 * folders of `handlers/` are its layers, and each module imports only its own layer or a lower one.
 */
const root = resolve(import.meta.dirname, '../..');
const handlers = join(root, 'handlers');

/** The layers, lowest first: a module's layer is the first folder of its path under `handlers/`. */
const layers = ['../contract', 'core', 'domain', 'bedrock', 'services', 'web', 'edge'] as const;

function layerOf(module: string): number {
  const index = layers.findIndex((layer) => module === layer || module.startsWith(`${layer}/`));
  if (index < 0) throw new Error(`${module} is in no layer: put it in one of handlers/{${layers.slice(1).join(',')}}/`);
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Each module (`domain/jobs/job-service`) with the modules it imports, as the same kind of names. */
const graph = sources(handlers).map((file) => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1]!);
  const name = (path: string) => relative(handlers, path).replace(/\.ts$/, '');
  return { module: name(file), imports: specifiers.map((s) => name(resolve(dirname(file), s))) };
});

const within = (module: string, folder: string) => module.startsWith(`${folder}/`);

describe('the runtime’s imports', () => {
  it('finds the modules and their imports', () => {
    expect(graph.length).toBeGreaterThan(50);
    expect(graph.find((m) => m.module === 'edge/runtime')?.imports).toContain('domain/jobs/upload-worker');
  });

  it('put every module in a layer, and none at the top of handlers/', () => {
    expect(graph.filter(({ module }) => !module.includes('/')).map((m) => m.module)).toEqual([]);
    for (const { module } of graph) layerOf(module);
  });

  it('never run back up: each module imports its own layer or a lower one', () => {
    const upward = graph.flatMap(({ module, imports }) =>
      imports
        .filter((i) => layerOf(i) > layerOf(module))
        .map((i) => `${module} (${layers[layerOf(module)]}) → ${i} (${layers[layerOf(i)]})`),
    );
    expect(upward).toEqual([]);
  });

  it('leave the job’s home on its own: domain/jobs/ imports nothing of bedrock/ or web/', () => {
    const jobs = graph.filter(({ module }) => within(module, 'domain/jobs'));
    expect(jobs.map((m) => m.module)).toContain('domain/jobs/job-service');
    const outward = jobs.flatMap(({ module, imports }) =>
      imports.filter((i) => within(i, 'bedrock') || within(i, 'web')).map((i) => `${module} → ${i}`),
    );
    expect(outward).toEqual([]);
  });

  it('reach the Bedrock adapter only from the edge that loads it', () => {
    const users = graph.filter(
      ({ module, imports }) => !within(module, 'bedrock') && imports.some((i) => within(i, 'bedrock')),
    );
    expect(users.map((m) => m.module)).toEqual(['edge/aws-deps']);
  });
});
