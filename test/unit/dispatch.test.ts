import { describe, expect, it, vi } from 'vitest';
import { classifyEvent, createDispatcher, UnsupportedEventError } from '../../handlers/edge/dispatch';
import { createLogger } from '../../handlers/core/logger';
import { captureOutput } from '../support/test-runtime';

const restEvent = { httpMethod: 'GET', path: '/health', requestContext: { requestId: 'r' } };
const s3Event = { Records: [{ eventSource: 'aws:s3', s3: { object: { key: 'jobs/u/j/input' } } }] };
const streamEvent = { Records: [{ eventSource: 'aws:dynamodb', dynamodb: {} }] };

describe('classifyEvent', () => {
  it.each([
    ['an API Gateway REST event', restEvent, 'http'],
    ['an S3 event', s3Event, 's3'],
    ['a DynamoDB stream event', streamEvent, 'dynamodb-stream'],
    ['a batch mixing sources', { Records: [...s3Event.Records, ...streamEvent.Records] }, 'unknown'],
    ['an empty batch', { Records: [] }, 'unknown'],
    ['a scheduled event', { source: 'aws.events', 'detail-type': 'Scheduled Event' }, 'schedule'],
    ['another EventBridge event', { source: 'aws.events', 'detail-type': 'Something Else' }, 'unknown'],
    ['null', null, 'unknown'],
    ['a string', 'hello', 'unknown'],
  ])('%s → %s', (_, event, kind) => {
    expect(classifyEvent(event)).toBe(kind);
  });
});

describe('the dispatcher', () => {
  const handlers = () => ({
    http: vi.fn(async () => 'http'),
    stream: vi.fn(async () => 'stream'),
    s3: vi.fn(async () => 's3'),
  });
  const logger = createLogger('dev');

  it('hands each event to its own handler', async () => {
    const h = handlers();
    const dispatch = createDispatcher(h, logger);
    expect(await dispatch(restEvent, {} as never)).toBe('http');
    expect(await dispatch(s3Event, {} as never)).toBe('s3');
    expect(await dispatch(streamEvent, {} as never)).toBe('stream');
    expect(h.http).toHaveBeenCalledTimes(1);
  });

  it('refuses S3 events while no worker is wired', async () => {
    const { s3: _, ...withoutWorker } = handlers();
    // Captured: the refusal is logged, and a passing run prints nothing.
    const logs = await captureOutput(() =>
      expect(createDispatcher(withoutWorker, logger)(s3Event, {} as never)).rejects.toBeInstanceOf(
        UnsupportedEventError,
      ),
    );
    expect(logs).toContain('unsupported event');
  });

  it('logs an unknown event by its shape only and rejects it', async () => {
    const dispatch = createDispatcher(handlers(), logger);
    let rejection: unknown;
    const logs = await captureOutput(async () => {
      rejection = await dispatch({ patientName: 'Secret Value', nested: { diagnosis: 'x' } }, {} as never).catch(
        (e) => e,
      );
    });
    expect(rejection).toBeInstanceOf(UnsupportedEventError);
    expect(logs).toContain('unsupported event');
    expect(logs).toContain('patientName');
    expect(logs).not.toContain('Secret Value');
    expect(logs).not.toContain('diagnosis');
  });
});
