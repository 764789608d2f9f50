import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { inject } from 'vitest';
import { localCredentials } from '../../local/local-deps';
import { startStreamPoller } from '../../local/stand-ins/stream-poller';
import { asFunction } from './aws-call-log';
import type { TestRuntime } from './test-runtime';

/** The users table's stream into the stream function's handler, as Lambda's event source mapping does. */
export function startTestStream(t: TestRuntime) {
  return startStreamPoller({
    dynamo: t.clients.dynamoClient,
    streams: new DynamoDBStreamsClient({
      endpoint: inject('dynamodbEndpoint'),
      region: t.config.region,
      credentials: localCredentials,
    }),
    table: t.config.usersTable,
    region: t.config.region,
    handler: (event) => asFunction('stream', () => t.runtime.streamBatches(event)),
    intervalMs: 50,
  });
}
