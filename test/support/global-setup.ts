import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleLambda, type LambdaBundle } from '../../components/lambda-bundle';
import { launchDynamoDbLocal } from '../../local/stand-ins/dynamodb-local';
import { startS3Local } from '../../local/stand-ins/s3-local';
import { resetAwsCallLog } from './aws-call-log';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    s3Endpoint: string;
    /** The Lambda bundle as the stacks build it, once for the files that run it. */
    lambdaBundle: LambdaBundle;
  }
}

/**
 * Starts the stand-ins once per run, on random loopback ports, and builds the Lambda bundle once
 * (while s3rver starts). DynamoDB Local is not awaited: the first files run while its JVM starts,
 * and a test runtime waits until it answers.
 */
export default async function setup(project: TestProject) {
  // This run's AWS calls, for the least-privilege project that runs after it.
  resetAwsCallLog();
  const bundleDir = mkdtempSync(join(tmpdir(), 'serenya-bundle-'));
  const started = await Promise.allSettled([
    launchDynamoDbLocal(),
    startS3Local({ buckets: [] }),
    bundleLambda(bundleDir),
  ]);
  const [dynamodb, s3, bundle] = started.map((r) => (r.status === 'fulfilled' ? r.value : undefined)) as [
    Awaited<ReturnType<typeof launchDynamoDbLocal>> | undefined,
    Awaited<ReturnType<typeof startS3Local>> | undefined,
    Awaited<ReturnType<typeof bundleLambda>> | undefined,
  ];
  const teardown = async () => {
    await Promise.all([dynamodb?.stop(), s3?.stop()]);
    rmSync(bundleDir, { recursive: true, force: true });
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed || !dynamodb || !s3 || !bundle) {
    // What did start is stopped before the run fails.
    await teardown();
    throw (failed as PromiseRejectedResult).reason;
  }
  // The workers see only that it does not answer; why (the JVM's exit and output) is known here.
  dynamodb.ready.catch((err: Error) => console.error(err.message));
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
  project.provide('lambdaBundle', bundle);
  return teardown;
}
