import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import type { AppConfig } from '../core/config';

/**
 * Bedrock Runtime in the zone's own region, retrying throttles adaptively a bounded number of
 * times, each attempt timed out so that all of them fit inside the worker's own timeout.
 * Offline passes the stand-in's endpoint and local credentials; nothing else changes.
 *
 * Requests share one pooled HTTP/2 session (the SDK's default): a session per request stays in memory,
 * with its socket and buffers, until the request's timer fires long after it closed, so a warm worker's
 * memory grew with every document, and each one paid a TLS handshake. A session silent for as long
 * as an attempt may take is closed, so a retry after a dropped connection opens a new one.
 */
export function createBedrockClient(
  config: AppConfig,
  endpoint?: Pick<BedrockRuntimeClientConfig, 'endpoint' | 'credentials'>,
) {
  const maxAttempts = 3;
  const requestTimeout = Math.floor(((config.workerTimeoutSeconds - 20) / maxAttempts) * 1000);
  return new BedrockRuntimeClient({
    region: config.region,
    maxAttempts,
    retryMode: 'adaptive',
    requestHandler: { requestTimeout, sessionTimeout: requestTimeout },
    ...endpoint,
  });
}
