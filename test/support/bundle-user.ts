import { randomUUID } from 'node:crypto';
import { inject, vi } from 'vitest';
import { envVars } from '../../contract';
import { deployedAppEnv, deployedKeyEnv } from '../../local/fixtures/deployed-env';
import { registerDeployedUser, type registerUser } from '../../local/fixtures/registered-user';
import { runDynamoDb } from './run-dynamodb';

/** A deployed function's environment, pointed at this run's DynamoDB Local (a table of its own) and the given stand-ins. */
export function bundleEnv(endpoints: { kms: string; bedrock?: string }): Record<string, string> {
  return {
    ...deployedAppEnv,
    ...deployedKeyEnv,
    [envVars.version]: 'test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    [envVars.usersTable]: `bundle-${randomUUID().slice(0, 8)}`,
    AWS_ACCESS_KEY_ID: 'bundletest',
    AWS_SECRET_ACCESS_KEY: 'bundletest',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbEndpoint'),
    AWS_ENDPOINT_URL_KMS: endpoints.kms,
    ...(endpoints.bedrock && { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoints.bedrock }),
  };
}

/**
 * A user registered in `env`'s table through the Lambda dependencies themselves (its PII sealed
 * through the KMS stand-in), for a bundle in a fresh process to serve. `process.env` is `env`
 * while it runs, as in Lambda, and restored after.
 */
export async function registerBundleUser(env: Record<string, string>, who: Parameters<typeof registerUser>[1]) {
  await runDynamoDb();
  try {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    return await registerDeployedUser(env, who);
  } finally {
    vi.unstubAllEnvs();
  }
}
