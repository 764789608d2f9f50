import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { mockCloud, withDeployValues, type MockCloudOptions } from '../../policy/stack-snapshot';
import { stackYamlConfig } from '../../policy/stack-yaml';
import { ResourceMonitorStandIn } from './resource-monitor';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** What `Pulumi.yaml` tells the Node.js language host (`parseOptions` in pulumi-language-nodejs). */
interface NodejsRuntime {
  project: string;
  /** @default true: the runner registers ts-node */
  typescript: boolean;
  tsconfig?: string;
  nodeargs: string[];
}

/** Splits `nodeargs` as the language host's shlex does: on blanks, quotes grouping. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

export function nodejsRuntime(projectFile = readFileSync(`${root}/Pulumi.yaml`, 'utf8')): NodejsRuntime {
  const project = parse(projectFile) as {
    name: string;
    main?: string;
    runtime: string | { name: string; options?: Record<string, unknown> };
  };
  const runtime = typeof project.runtime === 'string' ? { name: project.runtime } : project.runtime;
  if (runtime.name !== 'nodejs') throw new Error(`Pulumi.yaml's runtime is ${runtime.name}, not nodejs.`);
  // The CLI would run `main:` instead of the directory's package.json "main"; this project has none.
  if (project.main) throw new Error("Pulumi.yaml sets `main:`; the test starts the project directory ('.') only.");
  const options = runtime.options ?? {};
  return {
    project: project.name,
    typescript: options.typescript === undefined ? true : options.typescript === true,
    tsconfig: options.tsconfig as string | undefined,
    nodeargs: shellWords(String(options.nodeargs ?? '')),
  };
}

export interface LanguageHostRun {
  /** The `node --version` the language host finds on PATH. */
  nodeVersion: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  monitor: ResourceMonitorStandIn;
  config: Record<string, string>;
  /** The program's temporary directory (`TMPDIR`), where it builds the Lambda bundle. */
  tmp: string;
}

/**
 * Runs the project for a stack as `pulumi up` does: the Node.js language host's `execRuntime`
 * (pulumi/pulumi, sdk/nodejs/cmd/pulumi-language-nodejs) starts `node <nodeargs>
 * @pulumi/pulumi/cmd/run --monitor … --engine … --project … --stack … --pwd … --parallel … .`
 * with the stack's configuration in `PULUMI_CONFIG` (keys as `<namespace>:config:<name>`, objects
 * as JSON) and `PULUMI_CONFIG_SECRET_KEYS`; here the monitor and engine are the stand-in.
 * Not passed: `--sync` (pipes only deprecated synchronous invokes use) and `--tracing`.
 */
export async function runUnderLanguageHost(
  stack: string,
  options: MockCloudOptions & { runtime?: NodejsRuntime } = {},
): Promise<LanguageHostRun> {
  const runtime = options.runtime ?? nodejsRuntime();
  const config = withDeployValues(stack, stackYamlConfig(stack));
  const organization = 'organization'; // what a self-managed backend passes
  const parallel = availableParallelism() * 4; // the CLI's default `--parallel`
  const monitor = await ResourceMonitorStandIn.start({
    project: runtime.project,
    stack,
    organization,
    config,
    cloud: mockCloud(config, options),
    parallel,
  });

  // `locateModule`: resolved from the program directory as Node resolves it there.
  const runPath = createRequire(`${root}/package.json`).resolve('@pulumi/pulumi/cmd/run');
  const args = [
    ...runtime.nodeargs,
    runPath,
    ...['--monitor', monitor.address, '--engine', monitor.address],
    ...['--organization', organization, '--project', runtime.project, '--root-directory', root],
    ...['--stack', stack, '--pwd', root, '--parallel', String(parallel)],
    '.',
  ];
  const pulumiConfig = Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      const at = key.indexOf(':');
      return [`${key.slice(0, at)}:config:${key.slice(at + 1)}`, value];
    }),
  );
  // The test runner's own variables are not the user's shell's.
  const shell = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'),
  );
  // A temporary directory of its own: the bundle the program builds must not race another test's.
  const tmp = mkdtempSync(join(tmpdir(), `language-host-${stack}-`));
  const env: NodeJS.ProcessEnv = {
    ...shell,
    TMPDIR: tmp,
    PULUMI_CONFIG: JSON.stringify(pulumiConfig),
    PULUMI_CONFIG_SECRET_KEYS: '[]',
    ...(runtime.typescript && { PULUMI_NODEJS_TYPESCRIPT: 'true' }),
    ...(runtime.tsconfig && { PULUMI_NODEJS_TSCONFIG_PATH: runtime.tsconfig }),
  };

  // `node` from PATH (`exec.LookPath`), started in the project directory like the language host plugin.
  const nodeVersion = spawnSync('node', ['--version'], { cwd: root, env, encoding: 'utf8' }).stdout.trim();
  const child = spawn('node', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  await monitor.close();
  return { nodeVersion, exitCode, stdout, stderr, monitor, config, tmp };
}
