import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApiDocument, servedOpenApiDocument } from '../../local/cli/openapi-doc';

/** The repository carries the mobile contract the API serves, never an older one. */
describe('docs/openapi.json', () => {
  it('is the document the API serves (npm run docs:openapi writes it)', async () => {
    expect(readFileSync(openApiDocument, 'utf8')).toBe(await servedOpenApiDocument());
  });
});
