import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import type { AppConfig } from '../config';

/**
 * Bedrock Runtime in the zone's own region, retrying throttles adaptively a bounded number of
 * times, each attempt timed out so that all of them fit inside the worker's own timeout.
 * Offline passes the stand-in's endpoint and local credentials; nothing else changes.
 */
export function createBedrockClient(config: AppConfig, endpoint?: Pick<BedrockRuntimeClientConfig, 'endpoint' | 'credentials'>) {
  const maxAttempts = 3;
  const requestTimeout = Math.floor(((config.workerTimeoutSeconds - 20) / maxAttempts) * 1000);
  return new BedrockRuntimeClient({
    region: config.region,
    maxAttempts,
    retryMode: 'adaptive',
    requestHandler: { requestTimeout, disableConcurrentStreams: true },
    ...endpoint,
  });
}
