import { describe, expect, it } from 'vitest';
import { measureAwsCalls } from '../../bench/aws-calls-per-route';
import { runDynamoDb } from '../support/run-dynamodb';

/**
 * The bench's AWS-call counts, asserted: the real Lambda dependencies (`createAwsDeps`, the KMS
 * keyring and its cache) against DynamoDB Local behind a counting proxy and a KMS stand-in,
 * counted at the wire for a fresh instance. Counts are behaviour, not timing.
 */
describe('AWS calls per request, with the Lambda dependencies', () => {
  it('one DynamoDB round trip per authenticated read; one KMS call for a profile on a cache miss, none after; none to verify a token', async () => {
    const calls = await measureAwsCalls({ endpoint: await runDynamoDb(), stop: async () => {} });
    expect(calls.map((c) => [c.label, c.dynamodb, c.kms])).toEqual([
      ['profile, cold (data-key cache miss)', 1, 1],
      ['profile, warm (cache hit)', 1, 0],
      ['subscription', 1, 0],
      ['job status', 1, 0],
      ['chat status', 1, 0],
    ]);
  });
});
