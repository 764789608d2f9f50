import { createConfig, lintFromString } from '@redocly/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { allErrorCodes, errorCodes } from '../../handlers/core/errors';
import { createTestRuntime, type TestRuntime } from '../support/test-runtime';

/**
 * The served OpenAPI document, linted with Redocly's recommended rules (an independent validator
 * and linter): errors fail, warnings are listed (and none are expected either).
 */
let t: TestRuntime;
let source: string;
beforeAll(async () => {
  t = await createTestRuntime();
  source = JSON.stringify((await t.request('GET', '/api/v1/openapi.json')).body);
});

describe('the OpenAPI document', () => {
  it('lints clean with Redocly’s recommended rules', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source, absoluteRef: 'openapi.json', config });
    const listed = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`);
    expect(listed.filter((p) => p.startsWith('error'))).toEqual([]);
    expect(listed).toEqual([]);
  });

  it('would report a problem (the linter is really running)', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const doc = JSON.parse(source);
    delete doc.paths['/health'].get.operationId;
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    expect(problems.map((p) => p.ruleId)).toContain('operation-operationId');
  });

  it('lists every error code the API answers, and each status shows one of its own', () => {
    const doc = JSON.parse(source);
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(allErrorCodes);
    const examples = Object.values(
      doc.paths as Record<string, Record<string, { responses: Record<string, any> }>>,
    ).flatMap((item) =>
      Object.values(item).flatMap((op) =>
        Object.entries(op.responses ?? {}).filter(([status]) => Number(status) >= 400),
      ),
    );
    expect(examples.length).toBeGreaterThan(20);
    for (const [status, response] of examples) {
      const code = response.content?.['application/json']?.example?.error?.code;
      expect(errorCodes[Number(status) as keyof typeof errorCodes], `${status} example ${code}`).toContain(code);
    }
  });
});
