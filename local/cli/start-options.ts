import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loopbackHostnames } from '../listen';

export const startUsage = `Usage: npm start [-- --port 3000] [--data-dir <dir>] [--fresh] [--json-logs] [--dynamodb <url>]

  --port       where the API listens on 127.0.0.1 (default: $PORT or 3000)
  --data-dir   keep DynamoDB and S3 data in <dir> across restarts (default: in memory)
  --fresh      wipe .local/ (local keys) and the data dir before starting
  --json-logs  print the runtime's log lines as Lambda writes them (JSON), not as readable lines
  --dynamodb   use the DynamoDB Local already running at this loopback URL instead of starting
               one, e.g. docker run -p 127.0.0.1:8000:8000 amazon/dynamodb-local, then
               --dynamodb http://127.0.0.1:8000: no JDK needed; its data stays where it keeps it
               (new keys cannot read old items: on a first start or with --fresh, the users
               table there is dropped)`;

export interface StartOptions {
  help: boolean;
  port: number;
  /** Absolute. */
  dataDir?: string;
  fresh: boolean;
  jsonLogs: boolean;
  /** A DynamoDB Local endpoint on loopback, started by someone else. */
  dynamodb?: string;
}

/** `npm start`'s arguments, checked: a bad one throws an error that says what to pass instead. */
export function parseStartOptions(args: string[], env: NodeJS.ProcessEnv = process.env): StartOptions {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      fresh: { type: 'boolean', default: false },
      'json-logs': { type: 'boolean', default: false },
      dynamodb: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { help: true, port: 0, fresh: false, jsonLogs: false };
  const port = Number(values.port ?? env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`--port must be a TCP port, not "${values.port ?? env.PORT}"`);
  return {
    help: false,
    port,
    dataDir: values['data-dir'] ? resolve(values['data-dir']) : undefined,
    fresh: values.fresh,
    jsonLogs: values['json-logs'],
    dynamodb: values.dynamodb === undefined ? undefined : loopbackUrl(values.dynamodb),
  };
}

function loopbackUrl(value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  // What may stand for this machine: the offline platform calls nothing beyond it.
  if (url?.protocol !== 'http:' || !loopbackHostnames.includes(url.hostname) || url.pathname !== '/')
    throw new Error(
      `--dynamodb must be a DynamoDB Local on this machine, like http://127.0.0.1:8000, not "${value}": ` +
        'the offline platform calls nothing beyond loopback',
    );
  return url.origin;
}
