import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../handlers/core/logger';
import { createRuntime } from '../../handlers/edge/runtime';
import { loadOrCreateLocalKeys } from '../local-keys';
import { createLocalDeps } from '../local-deps';
import { offlineConfig } from '../offline-config';

/** Where the mobile contract's OpenAPI document is kept in the repository (docs/api.md links it). */
export const openApiDocument = new URL('../../docs/openapi.json', import.meta.url);

/**
 * The OpenAPI document the API serves, as the repository keeps it: the offline zone's, whose
 * server and version name no deployment. Nothing is called: the document is built from the
 * routes' schemas alone.
 */
export async function servedOpenApiDocument(): Promise<string> {
  const keysDir = mkdtempSync(join(tmpdir(), 'serenya-openapi-'));
  try {
    const config = offlineConfig({ apiUrl: 'http://127.0.0.1:3000' });
    const endpoints = { dynamodb: 'http://127.0.0.1:1', s3: 'http://127.0.0.1:1', bedrock: 'http://127.0.0.1:1' };
    const logger = createLogger(config.zone, 'SILENT');
    const { deps } = createLocalDeps({ config, endpoints, keys: loadOrCreateLocalKeys(keysDir), logger });
    const res = await createRuntime(deps).app.request('/api/v1/openapi.json');
    return `${JSON.stringify(await res.json(), null, 2)}\n`;
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('openapi-doc.ts')) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(
      'Usage: npm run docs:openapi\n\nWrites docs/openapi.json, the OpenAPI document the API serves, from the routes.',
    );
    process.exit(0);
  }
  writeFileSync(openApiDocument, await servedOpenApiDocument());
  console.error('docs/openapi.json: the OpenAPI document is written.');
}
