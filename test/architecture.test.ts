import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The runtime's house rules, read from the imports themselves (static, type-only and dynamic):
 * each module imports only its own layer or a lower one, and the job's home stands on its own.
 */
const root = resolve(import.meta.dirname, '..');
const handlers = join(root, 'handlers');

/** Lowest first. A module's layer is its folder's, or its own name's at the top of `handlers/`. */
const layers: Array<{ name: string; modules: string[] }> = [
  { name: 'contract', modules: ['../contract'] },
  { name: 'ground', modules: ['clock', 'conditions', 'config', 'errors', 'logger', 'metrics', 'once'] },
  { name: 'concepts', modules: ['audit/', 'identity/', 'idempotency/', 'jobs/', 'processing/', 'sessions/', 'subscriptions/', 'users/', 'zones/'] },
  { name: 'services', modules: ['deps', 'platform'] },
  { name: 'web', modules: ['app-env', 'router', 'middleware/', 'routes/'] },
  { name: 'edge', modules: ['app', 'dispatch', 'runtime', 'aws-deps', 'lambda', 'response-stream'] },
];

function layerOf(module: string): number {
  const index = layers.findIndex(({ modules }) => modules.some((m) => (m.endsWith('/') ? module.startsWith(m) : module === m)));
  if (index < 0) throw new Error(`${module} belongs to no layer; add it to architecture.test.ts`);
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Each module (`jobs/job-service`) with the modules it imports, as the same kind of names. */
const graph = sources(handlers).map((file) => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1]!);
  const name = (path: string) => relative(handlers, path).replace(/\.ts$/, '');
  return { module: name(file), imports: specifiers.map((s) => name(resolve(dirname(file), s))) };
});

const folder = (module: string) => (module.includes('/') && !module.startsWith('..') ? module.split('/')[0] : undefined);

describe('the runtime’s imports', () => {
  it('finds the modules and their imports', () => {
    expect(graph.length).toBeGreaterThan(50);
    expect(graph.find((m) => m.module === 'runtime')?.imports).toContain('jobs/upload-worker');
  });

  it('never run back up: each module imports its own layer or a lower one', () => {
    const upward = graph.flatMap(({ module, imports }) =>
      imports.filter((i) => layerOf(i) > layerOf(module)).map((i) => `${module} (${layers[layerOf(module)]!.name}) → ${i} (${layers[layerOf(i)]!.name})`),
    );
    expect(upward).toEqual([]);
  });

  it('leave the job’s home on its own: jobs/ imports nothing of processing/ or routes/', () => {
    const jobs = graph.filter(({ module }) => folder(module) === 'jobs');
    expect(jobs.map((m) => m.module)).toContain('jobs/job-service');
    expect(jobs.flatMap(({ module, imports }) => imports.filter((i) => ['processing', 'routes'].includes(folder(i) ?? '')).map((i) => `${module} → ${i}`))).toEqual([]);
  });

  it('reach the Bedrock adapter only from the edge that loads it', () => {
    const users = graph.filter(({ module, imports }) => folder(module) !== 'processing' && imports.some((i) => folder(i) === 'processing'));
    expect(users.map((m) => m.module)).toEqual(['aws-deps']);
  });
});
