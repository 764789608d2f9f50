import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stackFileConfig, stacks, type StackName } from '../policy/stack-yaml';
import { automationStack } from './automation';
import { commands, orchestrate, summaryTable, type Command } from './orchestrate';
import { pulumiVersions } from './preflight';

export const usage = `npm run deploy -- <preview|up|drift> (--stack <${stacks.join('|')}> | --all)

  preview   preflight, then a preview with the policy pack
  up        preflight, a preview, then \`pulumi up\` with the policy pack, then the release: each
            function's live alias moves to the new version through CodeDeploy (canary in
            production), rolled back by itself if an alarm fires
  drift     a refresh in preview mode: resources changed outside Pulumi

  --all     every zone in order, ${stacks.join(' → ')}, one at a time; stops at the first failure

Runs on Pulumi's Automation API: the Pulumi CLI must be installed and logged in to the state
backend (PULUMI_BACKEND_URL), with AWS credentials for each zone's account.
Exit codes: 0 done, 1 a stack failed (the table says where), 2 usage, 3 drift found.`;

const deployOptions = {
  stack: { type: 'string' },
  all: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--stack x` / `--all` / the command, or the reason they do not parse. */
export function parseDeployArgs(args: string[]): { command: Command; stacks: StackName[] } | { error: string } {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof deployOptions; allowPositionals: true }>>;
  try {
    parsed = parseArgs({
      args: args.filter((a) => a !== '--'),
      options: deployOptions,
      allowPositionals: true,
    });
  } catch (error) {
    return { error: (error as Error).message };
  }
  const { values, positionals } = parsed;
  const command = positionals.find((a) => (commands as readonly string[]).includes(a)) as Command | undefined;
  if (!command || positionals.length !== 1) return { error: `name a command: ${commands.join(', ')}` };
  if (values.all === (values.stack !== undefined)) return { error: 'name one stack with --stack, or --all' };
  const one = values.stack;
  if (one && !(stacks as readonly string[]).includes(one))
    return { error: `unknown stack ${one}; choose from ${stacks.join(', ')}` };
  return { command, stacks: values.all ? [...stacks] : [one as StackName] };
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  const parsed = parseDeployArgs(args);
  if ('error' in parsed) {
    console.error(`${parsed.error}\n\n${usage}`);
    return 2;
  }
  const progress = (line: string) => console.log(`  ${line}`);
  let zones: ReturnType<typeof automationStack>[];
  try {
    zones = parsed.stacks.map((name) => automationStack(name, stackFileConfig(name), pulumiVersions, progress));
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const { rows, exitCode } = await orchestrate(parsed.command, zones, progress);
  console.log(`\n${summaryTable(parsed.command, rows)}`);
  return exitCode;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = await main(process.argv.slice(2));
