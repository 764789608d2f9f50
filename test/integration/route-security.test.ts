import { beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/**
 * Authentication is bound to the route definition (`secured()`): walked from the served OpenAPI
 * document, every operation that declares security refuses a request without a token, and every
 * public one lets it through to its own checks. A middleware on a mistyped path would fail here.
 */
let t: TestRuntime;
let operations: Array<{ method: string; path: string; secured: boolean }>;

beforeAll(async () => {
  t = await createTestRuntime();
  const doc = (await t.request('GET', '/api/v1/openapi.json')).body;
  operations = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(
    ([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        secured: (op.security ?? []).length > 0,
      })),
  );
});

const concrete = (path: string) => path.replace('{jobId}', crypto.randomUUID());

describe('every operation of the OpenAPI document', () => {
  it('declares security exactly where it answers 401 without a token', async () => {
    expect(operations.filter((o) => o.secured).length).toBeGreaterThanOrEqual(10);
    const wrong: string[] = [];
    for (const { method, path, secured } of operations) {
      const res = await t.request(method, concrete(path), { body: method === 'GET' ? undefined : {} });
      const refused = res.status === 401 && res.body.error.code === 'UNAUTHENTICATED';
      if (refused !== secured)
        wrong.push(
          `${method} ${path}: declares ${secured ? 'security' : 'none'}, answered ${res.status} ${res.body?.error?.code ?? ''}`,
        );
    }
    expect(wrong).toEqual([]);
  });
});
