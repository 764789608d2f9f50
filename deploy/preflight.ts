import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stackFileConfig, stacks, type StackName } from '../policy/stack-yaml';
import {
  awsClients,
  NoCredentialsError,
  plannedChecks,
  publicDns,
  runPreflight,
  type CheckResult,
} from './preflight-checks';

const usage = `npm run preflight -- <stack>

Read-only checks, with credentials for the zone's account, of what \`pulumi up\` cannot create for
itself: opt-in regions, the hosted zone, its delegation and CAA records, the shared certificate
validation record, Lambda's concurrency quota, API Gateway's logging role, the inference profile's
regions, Bedrock model access, data retention and invocation logging in every inference region, the
Play and Apple secrets, the Pulumi CLI. Prints a checklist with the fix for each failure; exits 1 on
any failure, 2 when it could not run. docs/deploying.md explains each check.

Stacks: ${stacks.join(', ')}`;

/** The Pulumi CLI on this machine and the SDK this program runs, for the CLI-version check. */
export const pulumiVersions = {
  pulumiCliVersion: () =>
    promisify(execFile)('pulumi', ['version']).then(
      ({ stdout }) => stdout.trim(),
      () => undefined,
    ),
  pulumiSdkVersion: createRequire(import.meta.url)('@pulumi/pulumi/package.json').version as string,
};

export function formatChecklist(stack: string, results: CheckResult[]): string {
  const lines = results.map(
    (r) => `  ${r.ok ? 'PASS' : 'FAIL'}  ${r.check}: ${r.detail}${r.ok || !r.fix ? '' : `\n        fix: ${r.fix}`}`,
  );
  const failed = results.filter((r) => !r.ok).length;
  return [
    `preflight ${stack}`,
    ...lines,
    failed ? `${failed} check(s) failed: fix them before \`pulumi up\`.` : 'All checks passed: `pulumi up` can run.',
  ].join('\n');
}

async function main(args: string[]): Promise<number> {
  const stack = args.find((a) => a !== '--');
  if (!stack || stack === '--help' || stack === '-h') {
    console.log(usage);
    return stack ? 0 : 2;
  }
  if (!(stacks as readonly string[]).includes(stack)) {
    console.error(`Unknown stack ${stack}; choose from ${stacks.join(', ')}.`);
    return 2;
  }
  let config: ReturnType<typeof stackFileConfig>;
  try {
    config = stackFileConfig(stack as StackName);
  } catch (error) {
    console.error(`preflight ${stack}\n  FAIL  stack configuration: ${(error as Error).message}`);
    return 1;
  }
  try {
    const results = await runPreflight(stack, config, { clients: awsClients, dns: publicDns, ...pulumiVersions });
    console.log(formatChecklist(stack, results));
    return results.every((r) => r.ok) ? 0 : 1;
  } catch (error) {
    if (!(error instanceof NoCredentialsError)) throw error;
    console.log(
      `preflight ${stack}: no AWS credentials (${error.message}). With credentials for the zone's account it checks:`,
    );
    for (const check of plannedChecks(config)) console.log(`  - ${check}`);
    return 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  process.exitCode = await main(process.argv.slice(2));
