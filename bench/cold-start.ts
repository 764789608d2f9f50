import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { envVars } from '../contract';
import type { DynamoDbLocal } from '../local/stand-ins/dynamodb-local';
import { startKmsStandIn } from '../local/stand-ins/kms-stand-in';
import { deployedAppEnv, deployedKeyEnv, deployedKmsKeys } from '../local/fixtures/deployed-env';
import { registerDeployedUser } from '../local/fixtures/registered-user';
import { restEvent } from '../local/fixtures/rest-event';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A deployed zone's environment, with the SDK's endpoint variables pointing at the stand-ins. */
function lambdaEnvironment(dynamodb: string, kms: string): Record<string, string> {
  return {
    ...deployedAppEnv,
    ...deployedKeyEnv,
    [envVars.usersTable]: 'serenya-bench-users',
    PATH: process.env.PATH ?? '',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
    AWS_ENDPOINT_URL_KMS: kms,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}

/** One fresh process: import the bundle, serve one event, exit. Wall time, as a cold start costs. */
function coldRun(bundleFile: string, event: unknown, env: Record<string, string>, dir: string): Promise<number> {
  const probe = join(dir, 'cold-probe.mjs');
  writeFileSync(
    probe,
    `const { handler } = await import(process.argv[2]);
const res = await handler(JSON.parse(process.argv[3]), { functionName: 'bench', awsRequestId: 'cold' });
if (res.statusCode !== 200) { console.error(res.statusCode, res.body); process.exit(1); }`,
  );
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [probe, pathToFileURL(bundleFile).href, JSON.stringify(event)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`cold start failed: ${stderr}`)),
    );
  });
}

/**
 * Cold start of `GET /api/v1/user/profile` with a valid token — a fresh process imports the
 * bundle and serves its first request (session and profile reads, the field
 * decryptions, over loopback) — beside a hello-world handler and Express + serverless-http.
 */
export async function measureColdStarts(options: {
  dynamodb: DynamoDbLocal;
  bundles: Record<'serenya' | 'express' | 'hello', string>;
  workdir: string;
  runs?: number;
}) {
  const kms = await startKmsStandIn(deployedKmsKeys);
  try {
    const env = lambdaEnvironment(options.dynamodb.endpoint, kms.endpoint);
    Object.assign(process.env, env);
    const { token } = await registerDeployedUser(env, {
      subject: `cold-${Date.now()}`,
      email: 'cold@example.com',
      name: 'Cold Start',
      givenName: 'Cold',
      familyName: 'Start',
    });
    const event = restEvent('/api/v1/user/profile', token);
    const runs = options.runs ?? 15;
    const results: Record<string, number> = {};
    for (const [name, bundle] of Object.entries(options.bundles)) {
      await coldRun(bundle, event, env, options.workdir); // one unmeasured run warms the OS file cache
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await coldRun(bundle, event, env, options.workdir));
      results[name] = median(times);
    }
    return { runs, medianMs: results as Record<'serenya' | 'express' | 'hello', number> };
  } finally {
    await kms.stop();
  }
}
