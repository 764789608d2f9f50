import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackSnapshot } from '../../policy/stack-snapshot';
import { stacks, type StackName } from '../../policy/stack-yaml';
import { nodejsRuntime, runUnderLanguageHost, type LanguageHostRun } from '../support/language-host';
import { sig } from '../support/resource-monitor';
import { zoneSnapshot } from '../support/stack-queries';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  engines: { node: string };
};

/** A value compared across both runs: secrets unwrapped; code archives alike (the runner builds the real one). */
function comparable(value: unknown): unknown {
  if (value instanceof pulumi.asset.Archive) return 'archive';
  if (Array.isArray(value)) return value.map(comparable);
  if (!value || typeof value !== 'object') return value;
  const marked = value as Record<string, unknown>;
  if (marked[sig.key] === sig.archive) return 'archive';
  if (marked[sig.key] === sig.secret) return comparable(marked.value);
  return Object.fromEntries(Object.entries(marked).map(([k, v]) => [k, comparable(v)]));
}

/** What both runs declared, in one order. */
const declared = (resources: { type: string; name: string; custom: boolean; inputs: Record<string, unknown> }[]) =>
  resources
    .map(({ type, name, custom, inputs }) => ({ type, name, custom, inputs: comparable(inputs) }))
    .sort((a, b) => `${a.type}::${a.name}`.localeCompare(`${b.type}::${b.name}`));

describe('the program under Pulumi’s own runner (what the Node.js language host starts)', () => {
  const runs = {} as Record<StackName, LanguageHostRun>;
  const snapshots = {} as Record<StackName, StackSnapshot>;

  beforeAll(async () => {
    // The three programs run side by side in their own processes, beside the mock deployments.
    await Promise.all([
      ...stacks.map(async (stack) => (runs[stack] = await runUnderLanguageHost(stack))),
      ...stacks.map(async (stack) => (snapshots[stack] = await zoneSnapshot(stack))),
    ]);
  }, 120_000);
  afterAll(() => {
    for (const run of Object.values(runs)) rmSync(run.tmp, { recursive: true, force: true });
  });

  describe.each(stacks)('%s', (stack) => {
    it('runs to the end: exit 0, no error logged, the stack resource set as root, shutdown signalled', () => {
      const { exitCode, stderr, monitor } = runs[stack];
      expect({ exitCode, errors: monitor.errors, stderr }).toEqual({ exitCode: 0, errors: [], stderr: '' });
      expect(monitor.rootUrn).toBe(`urn:pulumi:${stack}::serenya::pulumi:pulumi:Stack::serenya-${stack}`);
      expect(monitor.shutdownSignalled).toBe(true);
    });

    it("starts package.json's main on the Node.js the language host finds on PATH", () => {
      const { monitor, nodeVersion } = runs[stack];
      const started = `Running program '${join(root, packageJson.main)}' in pwd '${root}' w/ args: `;
      expect(monitor.logs.map((l) => l.message)).toContain(started);
      const [, minimum] = /^>=(\d+)$/.exec(packageJson.engines.node) ?? [];
      expect(Number(/^v(\d+)\./.exec(nodeVersion)?.[1])).toBeGreaterThanOrEqual(Number(minimum));
    });

    it('registers the resources Pulumi’s mocks record, with the same inputs', () => {
      const registered = runs[stack].monitor.registrations.filter((r) => r.type !== 'pulumi:pulumi:Stack');
      const ran = declared(registered);
      const mocked = declared(snapshots[stack].resources);
      expect(ran.map((r) => `${r.type}::${r.name}`)).toEqual(mocked.map((r) => `${r.type}::${r.name}`));
      expect(ran).toEqual(mocked);
    });

    it('exports the stack outputs, the deploy checks passed', () => {
      const stackResource = runs[stack].monitor.registrations.find((r) => r.type === 'pulumi:pulumi:Stack');
      const { deployChecks, ...outputs } = stackResource?.outputs ?? {};
      expect(deployChecks).toBe('passed');
      expect(outputs).toEqual(comparable(snapshots[stack].outputs));
    });

    it('deploys the esbuild bundle the program built as every function’s code', () => {
      const functions = runs[stack].monitor.registrations.filter((r) => r.type === 'aws:lambda/function:Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const fn of functions) {
        const code = fn.inputs.code as { path?: string };
        expect(code.path?.startsWith(runs[stack].tmp) && existsSync(join(code.path, 'index.mjs'))).toBe(true);
      }
    });
  });

  it("needs Pulumi.yaml's nodeargs: without `--import tsx` the runner cannot load index.ts's imports", async () => {
    const run = await runUnderLanguageHost('dev', { runtime: { ...nodejsRuntime(), nodeargs: [] } });
    rmSync(run.tmp, { recursive: true, force: true });
    expect(run.exitCode).not.toBe(0);
    expect(run.monitor.errors.join('\n')).toMatch(/Cannot find module .*components\/zone/);
  }, 60_000);
});
