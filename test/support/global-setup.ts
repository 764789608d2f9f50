import type { TestProject } from 'vitest/node';
import { launchDynamoDbLocal } from '../../local/stand-ins/dynamodb-local';
import { startS3Local } from '../../local/stand-ins/s3-local';
import { resetAwsCallLog } from './aws-call-log';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    s3Endpoint: string;
  }
}

/**
 * Starts the stand-ins once per run, on random loopback ports. DynamoDB Local is not awaited: the
 * other projects' files run while its JVM starts, and a test runtime waits until it answers.
 */
export default async function setup(project: TestProject) {
  // This run's AWS calls, for the least-privilege project that runs after it.
  resetAwsCallLog();
  const [dynamodb, s3] = await Promise.all([launchDynamoDbLocal(), startS3Local({ buckets: [] })]);
  // The workers see only that it does not answer; why (the JVM's exit and output) is known here.
  dynamodb.ready.catch((err: Error) => console.error(err.message));
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
  return async () => {
    await Promise.all([dynamodb.stop(), s3.stop()]);
  };
}
