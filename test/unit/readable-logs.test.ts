import { describe, expect, it } from 'vitest';
import { readableLogLine } from '../../local/readable-logs';

/** `npm start` prints the runtime's JSON log lines as a person reads them in a terminal. */
describe('readable local logs', () => {
  it('print a request line as time, level, request, status and duration, the rest as key=value', () => {
    const line = JSON.stringify({
      level: 'INFO',
      message: 'request',
      timestamp: '2026-11-30T05:58:43.204Z',
      service: 'serenya',
      sampling_rate: 0,
      zone: 'dev',
      requestId: '63dd7286',
      method: 'GET',
      route: '/health',
      status: 200,
      durationMs: 36,
    });
    expect(readableLogLine(line)).toBe('05:58:43 INFO  request GET /health 200 36ms  requestId=63dd7286');
  });

  it('print any other log line by its message and fields', () => {
    const line = JSON.stringify({
      level: 'WARN',
      message: 'stream poll failed',
      timestamp: '2026-11-30T06:00:00.000Z',
      errorName: 'TimeoutError',
    });
    expect(readableLogLine(line)).toBe('06:00:00 WARN  stream poll failed  errorName=TimeoutError');
  });

  it('leave what is not one of the runtime’s lines as it is', () => {
    for (const line of ['Starting the Serenya platform offline…', '{not json', '{"a":1}'])
      expect(readableLogLine(line)).toBe(line);
  });
});
