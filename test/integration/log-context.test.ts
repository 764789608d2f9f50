import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restEvent } from '../../local/fixtures/rest-event';
import { captureOutput, createTestRuntime, type TestRuntime } from '../support/test-runtime';

/** Powertools' Lambda context on every line of an invocation, and the request's id on every line a route logs. */
let t: TestRuntime;
beforeAll(async () => {
  t = await createTestRuntime({ logLevel: 'INFO' });
});
afterAll(() => t.stop());

const lines = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const lambdaContext = (awsRequestId: string) =>
  ({
    awsRequestId,
    functionName: 'serenya-dev-api',
    functionVersion: '7',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:serenya-dev-api:live',
    memoryLimitInMB: '1024',
    getRemainingTimeInMillis: () => 10_000,
  }) as unknown as Context;

describe('log lines', () => {
  it('carry the Lambda context of the invocation that wrote them', async () => {
    const event = restEvent('/health');
    const output = await captureOutput(async () => {
      await t.runtime.handler(event, lambdaContext('invocation-1'));
    });
    const request = lines(output).find((l) => l.message === 'request')!;
    expect(request).toMatchObject({
      function_request_id: 'invocation-1',
      function_name: 'serenya-dev-api',
      requestId: event.requestContext.requestId,
    });
    expect(request).toHaveProperty('cold_start');
  });

  it('carry the request id on every line a route logs, without the route passing it', async () => {
    let requestId = '';
    const output = await captureOutput(async () => {
      const res = await t.request('POST', '/api/v1/subscriptions/webhook', { body: { signedPayload: 'a.b.c' } });
      requestId = res.headers.get('x-request-id')!;
    });
    const refused = lines(output).find((l) => l.message === 'store notification refused');
    expect(refused).toMatchObject({ requestId, zone: t.config.zone });
  });
});
