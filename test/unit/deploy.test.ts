import { CodeDeployClient, CreateDeploymentCommand, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { EngineEvent, StepEventMetadata } from '@pulumi/pulumi/automation';
import { automationStack, type PulumiStack } from '../../deploy/automation';
import { parseDeployArgs } from '../../deploy/deploy';
import { orchestrate, summaryTable, type StepResult, type ZoneStack } from '../../deploy/orchestrate';
import { release } from '../../deploy/release';
import { withDeployValues } from '../../policy/stack-snapshot';
import { stackFileConfig } from '../../policy/stack-yaml';

/** A stack that records what the orchestration asked of it, failing where told. */
function fakeStack(
  name: string,
  calls: string[],
  fail: { at?: 'preflight' | 'preview' | 'up' | 'drift'; drifted?: number } = {},
): ZoneStack {
  const step = (what: 'preview' | 'up' | 'drift', result: StepResult) => async () => {
    calls.push(`${name} ${what}`);
    if (fail.at === what) throw new Error(`${what} of ${name} failed`);
    return result;
  };
  return {
    name,
    region: `${name}-region`,
    preflight: async () => {
      calls.push(`${name} preflight`);
      return [{ check: 'credentials', ok: fail.at !== 'preflight', detail: 'account', fix: 'log in' }];
    },
    preview: step('preview', { changes: 2, policyViolations: 0 }),
    up: step('up', { changes: 2, policyViolations: 0 }),
    drift: step('drift', {
      changes: fail.drifted ?? 0,
      policyViolations: 0,
      drifted: fail.drifted ? ['serenya-users-table'] : [],
    }),
  };
}

describe('npm run deploy', () => {
  it('goes dev → prod-eu → prod-us, preflight and a preview before every up', async () => {
    const calls: string[] = [];
    const { rows, exitCode } = await orchestrate(
      'up',
      ['dev', 'prod-eu', 'prod-us'].map((n) => fakeStack(n, calls)),
    );
    expect(calls).toEqual(['dev', 'prod-eu', 'prod-us'].flatMap((n) => [`${n} preflight`, `${n} preview`, `${n} up`]));
    expect(rows.map((r) => r.result)).toEqual(['ok', 'ok', 'ok']);
    expect(exitCode).toBe(0);
  });

  it('stops at the first failure, says where, and skips the zones after it', async () => {
    const calls: string[] = [];
    const stacks = [fakeStack('dev', calls), fakeStack('prod-eu', calls, { at: 'up' }), fakeStack('prod-us', calls)];
    const progress: string[] = [];
    const { rows, exitCode } = await orchestrate('up', stacks, (l) => progress.push(l));
    expect(exitCode).toBe(1);
    expect(calls.filter((c) => c.startsWith('prod-us'))).toEqual([]);
    expect(rows.map((r) => [r.stack, r.result])).toEqual([
      ['dev', 'ok'],
      ['prod-eu', 'failed'],
      ['prod-us', 'skipped'],
    ]);
    expect(rows[1]!.error).toBe('up of prod-eu failed');
    expect(progress).toContain('prod-eu: FAILED — up of prod-eu failed');
    const table = summaryTable('up', rows);
    expect(table.split('\n')[0]).toBe('| stack | region | result | changes | policy violations | duration |');
    expect(table).toContain('| prod-eu | prod-eu-region | FAILED: up of prod-eu failed |');
  });

  it('never deploys a zone whose preflight fails', async () => {
    const calls: string[] = [];
    const { rows, exitCode } = await orchestrate('up', [fakeStack('dev', calls, { at: 'preflight' })]);
    expect(calls).toEqual(['dev preflight']);
    expect(exitCode).toBe(1);
    expect(rows[0]!.error).toContain('preflight failed: credentials (log in)');
  });

  it('previews without updating', async () => {
    const calls: string[] = [];
    await orchestrate('preview', [fakeStack('dev', calls)]);
    expect(calls).toEqual(['dev preflight', 'dev preview']);
  });

  it('reports drift per stack, with exit code 3', async () => {
    const calls: string[] = [];
    const progress: string[] = [];
    const { rows, exitCode } = await orchestrate(
      'drift',
      [fakeStack('dev', calls), fakeStack('prod-eu', calls, { drifted: 1 })],
      (l) => progress.push(l),
    );
    expect(calls).toEqual(['dev drift', 'prod-eu drift']);
    expect(rows.map((r) => r.changes)).toEqual([0, 1]);
    expect(progress).toContain('prod-eu: drifted: serenya-users-table');
    expect(exitCode).toBe(3);
    expect(summaryTable('drift', rows).split('\n')[0]).toContain('| drifted |');
  });

  it('takes one stack or --all, and refuses anything else', () => {
    expect(parseDeployArgs(['--', 'up', '--all'])).toEqual({ command: 'up', stacks: ['dev', 'prod-eu', 'prod-us'] });
    expect(parseDeployArgs(['preview', '--stack', 'prod-eu'])).toEqual({ command: 'preview', stacks: ['prod-eu'] });
    expect(parseDeployArgs(['up'])).toEqual({ error: 'name one stack with --stack, or --all' });
    expect(parseDeployArgs(['up', '--all', '--stack', 'dev'])).toEqual({
      error: 'name one stack with --stack, or --all',
    });
    expect(parseDeployArgs(['destroy', '--all'])).toMatchObject({ error: expect.stringContaining('name a command') });
    expect(parseDeployArgs(['up', '--stack', 'prod-ap'])).toMatchObject({
      error: expect.stringContaining('unknown stack prod-ap'),
    });
  });
});

describe('the release after pulumi up', () => {
  const lambda = mockClient(LambdaClient);
  const codedeploy = mockClient(CodeDeployClient);
  const target = {
    functionName: 'serenya-prod-eu-api',
    alias: 'live',
    version: '8',
    application: 'app',
    deploymentGroup: 'serenya-prod-eu-api-live',
  };
  beforeEach(() => {
    lambda.reset();
    codedeploy.reset();
  });
  // The clients' prototypes are stubbed for this worker: later files must meet the real SDK.
  afterAll(() => {
    lambda.restore();
    codedeploy.restore();
  });
  const clients = () => ({
    lambda: new LambdaClient({ region: 'eu-west-1' }),
    codedeploy: new CodeDeployClient({ region: 'eu-west-1' }),
  });

  it('shifts the alias from its version to the new one through CodeDeploy', async () => {
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '7' });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-1' });
    codedeploy
      .on(GetDeploymentCommand)
      .resolvesOnce({ deploymentInfo: { status: 'InProgress' } })
      .resolves({ deploymentInfo: { status: 'Succeeded' } });
    const progress: string[] = [];
    expect(await release([target], clients(), { pollMs: 1, progress: (l) => progress.push(l) })).toBe(1);
    // While CodeDeploy shifts traffic, each poll says so.
    expect(progress).toContain('serenya-prod-eu-api: deployment d-1 InProgress (0 min)');
    const input = codedeploy.commandCalls(CreateDeploymentCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ applicationName: 'app', deploymentGroupName: 'serenya-prod-eu-api-live' });
    // The AppSpec exactly as CodeDeploy reads it: its version is the string "0.0", never the number 0.
    expect(input.revision).toEqual({
      revisionType: 'AppSpecContent',
      appSpecContent: {
        content:
          '{"version":"0.0","Resources":[{"serenya-prod-eu-api":{"Type":"AWS::Lambda::Function",' +
          '"Properties":{"Name":"serenya-prod-eu-api","Alias":"live","CurrentVersion":"7","TargetVersion":"8"}}}]}',
      },
    });
  });

  it('does nothing when the alias already serves the version', async () => {
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '8' });
    expect(await release([target], clients())).toBe(0);
    expect(codedeploy.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('fails the deploy when an alarm stopped the release, saying it was rolled back', async () => {
    lambda.on(GetAliasCommand).resolves({ FunctionVersion: '7' });
    codedeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-2' });
    codedeploy.on(GetDeploymentCommand).resolves({
      deploymentInfo: { status: 'Stopped', errorInformation: { message: 'alarm serenya-api-5xx fired' } },
    });
    await expect(release([target], clients(), { pollMs: 1 })).rejects.toThrow(
      'release of serenya-prod-eu-api stopped and was rolled back to version 7 (alarm serenya-api-5xx fired)',
    );
  });
});

describe('drift on the Automation API', () => {
  const urn = (name: string) => `urn:pulumi:dev::serenya::aws:dynamodb/table:Table::${name}`;
  const step = (name: string, change: Partial<StepEventMetadata> = {}): StepEventMetadata => {
    // A refresh that found the resource as it was: the same state before and after.
    const state = {
      type: 'aws:dynamodb/table:Table',
      urn: urn(name),
      id: name,
      parent: '',
      provider: 'aws',
      inputs: {},
      outputs: {},
    };
    return {
      op: 'refresh',
      urn: urn(name),
      type: state.type,
      provider: 'aws',
      old: state,
      new: { ...state },
      ...change,
    };
  };
  const unchanged = Array.from({ length: 40 }, (_, i) => step(`serenya-resource-${i}`));
  const tableEdited = step('serenya-users-table', { diffs: ['pointInTimeRecovery'] });
  const queueDeleted = step('serenya-stream-failures', { new: undefined });
  const events = [...unchanged, tableEdited, queueDeleted].flatMap((metadata, i): EngineEvent[] => [
    // The pre-event has no new state yet, changed or not.
    { sequence: 2 * i, timestamp: 0, resourcePreEvent: { metadata: { ...metadata, new: undefined } } },
    { sequence: 2 * i + 1, timestamp: 0, resOutputsEvent: { metadata } },
  ]);
  /** A stack after its first `up`: the last update created 42 resources; 2 have changed since. */
  const stack = {
    async previewRefresh(opts?: { onEvent?: (e: EngineEvent) => void }) {
      for (const e of events) opts?.onEvent?.(e);
      return { stdout: '', stderr: '', changeSummary: { same: 40, update: 1, delete: 1 } };
    },
    async refresh(opts?: { onEvent?: (e: EngineEvent) => void }) {
      for (const e of events) opts?.onEvent?.(e);
      return {
        stdout: '',
        stderr: '',
        summary: { kind: 'update', result: 'succeeded', resourceChanges: { create: 42 } },
      };
    },
  } as unknown as PulumiStack;
  const config = stackFileConfig('dev', (c) => withDeployValues('dev', c));
  const pulumiVersions = { pulumiCliVersion: async () => '3.300.0', pulumiSdkVersion: '3.270.0' };

  it('counts and names only what changed outside Pulumi, from a preview of the refresh', async () => {
    const result = await automationStack(
      'dev',
      config,
      pulumiVersions,
      () => {},
      async () => stack,
    ).drift();
    expect(result).toEqual({
      changes: 2,
      policyViolations: 0,
      drifted: ['serenya-users-table', 'serenya-stream-failures'],
    });
  });

  it('prints each policy finding of a preview, not only their count', async () => {
    const finding = {
      sequence: 0,
      timestamp: 0,
      policyEvent: {
        resourceUrn: urn('serenya-temp-bucket'),
        message: 'bucket is in us-east-1, outside eu-west-1 ',
        color: 'never',
        policyName: 'region-allow-list',
        policyPackName: 'serenya-zone',
        policyPackVersion: '1.0.0',
        policyPackVersionTag: '1.0.0',
        enforcementLevel: 'mandatory',
      },
    } as EngineEvent;
    const previewing = {
      async preview(opts?: { onEvent?: (e: EngineEvent) => void; onOutput?: (line: string) => void }) {
        opts?.onOutput?.('Previewing update (dev)\n');
        opts?.onEvent?.(finding);
        return { stdout: '', stderr: '', changeSummary: { create: 3 } };
      },
    } as unknown as PulumiStack;
    const progress: string[] = [];
    const result = await automationStack(
      'dev',
      config,
      pulumiVersions,
      (l) => progress.push(l),
      async () => previewing,
    ).preview();
    expect(result).toEqual({ changes: 3, policyViolations: 1 });
    expect(progress).toEqual([
      'Previewing update (dev)',
      'dev: policy region-allow-list (mandatory) on serenya-temp-bucket: bucket is in us-east-1, outside eu-west-1',
    ]);
  });

  it('exits 0 on a stack nothing changed since `up`', async () => {
    const quiet = {
      async previewRefresh(opts?: { onEvent?: (e: EngineEvent) => void }) {
        unchanged.forEach((metadata, i) => {
          opts?.onEvent?.({ sequence: i, timestamp: 0, resOutputsEvent: { metadata } });
        });
        return { stdout: '', stderr: '', changeSummary: { same: 40 } };
      },
    } as unknown as PulumiStack;
    const zone = automationStack(
      'dev',
      config,
      pulumiVersions,
      () => {},
      async () => quiet,
    );
    const { rows, exitCode } = await orchestrate('drift', [zone]);
    expect(rows[0]!.changes).toBe(0);
    expect(exitCode).toBe(0);
  });
});
