import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStartOptions } from '../../local/cli/start-options';

/** `npm start`'s flags: what it runs with, and a clear refusal of what would leave this machine. */
describe('npm start options', () => {
  it('defaults to port 3000 (or $PORT), in memory, its own DynamoDB Local', () => {
    expect(parseStartOptions([], {})).toEqual({ help: false, port: 3000, fresh: false, jsonLogs: false });
    expect(parseStartOptions([], { PORT: '8080' }).port).toBe(8080);
    expect(parseStartOptions(['--port', '4000', '--data-dir', '.local/data'], {})).toMatchObject({
      port: 4000,
      dataDir: resolve('.local/data'),
    });
  });

  it.each([
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000'],
    ['http://localhost:8000/', 'http://localhost:8000'],
    ['http://[::1]:8000', 'http://[::1]:8000'],
  ])('takes a DynamoDB Local on loopback: %s', (url, endpoint) => {
    expect(parseStartOptions(['--dynamodb', url], {}).dynamodb).toBe(endpoint);
  });

  it('answers --help whatever else it is given', () => {
    expect(parseStartOptions(['--help', '--dynamodb', 'http://example.com'], { PORT: 'x' }).help).toBe(true);
  });

  it.each([
    'http://dynamodb.eu-central-1.amazonaws.com',
    'https://127.0.0.1:8000',
    'http://127.0.0.1.attacker.example:8000',
    'http://10.0.0.5:8000',
    'http://127.0.0.1:8000/shell',
    '127.0.0.1:8000',
  ])('refuses a DynamoDB beyond loopback, saying what to pass: %s', (url) => {
    expect(() => parseStartOptions(['--dynamodb', url], {})).toThrow(
      /^--dynamodb must be a DynamoDB Local on this machine, like http:\/\/127\.0\.0\.1:8000, not ".*": the offline platform calls nothing beyond loopback$/,
    );
  });

  it('refuses a port that is not one', () => {
    expect(() => parseStartOptions(['--port', '70000'], {})).toThrow('--port must be a TCP port, not "70000"');
    expect(() => parseStartOptions([], { PORT: 'x' })).toThrow('--port must be a TCP port, not "x"');
  });
});
