import type { CheckResult } from './preflight-checks';

export const commands = ['preview', 'up', 'drift'] as const;
export type Command = (typeof commands)[number];

/** What one operation on one stack found. */
export interface StepResult {
  /** Resources created, updated, replaced or deleted (drift: changed outside Pulumi). */
  changes: number;
  /** Policy-pack violations reported (mandatory ones also fail the step). */
  policyViolations: number;
  /** Names of the resources that drifted, for `drift`. */
  drifted?: string[];
}

/**
 * One zone's stack as the orchestration sees it. The Automation API adapter (`automation.ts`)
 * implements it for real; tests inject their own, since the Pulumi CLI cannot run here.
 */
export interface ZoneStack {
  name: string;
  region: string;
  preflight(): Promise<CheckResult[]>;
  preview(): Promise<StepResult>;
  /** `pulumi up` with the policy pack, then the release of the new versions (CodeDeploy). */
  up(): Promise<StepResult>;
  drift(): Promise<StepResult>;
}

export interface Row {
  stack: string;
  region: string;
  result: 'ok' | 'failed' | 'skipped';
  changes?: number;
  policyViolations?: number;
  durationMs?: number;
  /** Where and why it stopped. */
  error?: string;
}

/**
 * Runs `command` over the stacks in the order given (`--all`: dev → prod-eu → prod-us), one at a
 * time: preflight first, a preview before every `up`; the first failure stops the run and the
 * stacks after it are reported skipped. Returns the summary rows; `exitCode` says how it ended.
 */
export async function orchestrate(
  command: Command,
  stacks: ZoneStack[],
  progress: (line: string) => void = () => {},
  clock: () => number = Date.now,
) {
  const rows: Row[] = [];
  let failed = false;
  for (const stack of stacks) {
    if (failed) {
      rows.push({ stack: stack.name, region: stack.region, result: 'skipped' });
      continue;
    }
    const started = clock();
    const step = async <T>(what: string, run: () => Promise<T>) => {
      progress(`${stack.name}: ${what}…`);
      return run();
    };
    try {
      if (command !== 'drift') {
        const checks = await step('preflight', () => stack.preflight());
        const failing = checks.filter((c) => !c.ok);
        if (failing.length)
          throw new Error(`preflight failed: ${failing.map((c) => `${c.check} (${c.fix ?? c.detail})`).join('; ')}`);
      }
      let result: StepResult;
      if (command === 'drift') {
        result = await step('refresh (preview only)', () => stack.drift());
        if (result.changes)
          progress(`${stack.name}: drifted: ${(result.drifted ?? []).join(', ') || `${result.changes} resource(s)`}`);
      } else {
        result = await step('preview with the policy pack', () => stack.preview());
        if (command === 'up') result = await step('up with the policy pack, then release', () => stack.up());
      }
      rows.push({
        stack: stack.name,
        region: stack.region,
        result: 'ok',
        changes: result.changes,
        policyViolations: result.policyViolations,
        durationMs: clock() - started,
      });
      progress(`${stack.name}: done (${result.changes} change(s))`);
    } catch (err) {
      failed = true;
      const error = (err as Error).message;
      rows.push({ stack: stack.name, region: stack.region, result: 'failed', durationMs: clock() - started, error });
      progress(`${stack.name}: FAILED — ${error}`);
    }
  }
  const drifted = command === 'drift' && rows.some((r) => (r.changes ?? 0) > 0);
  return { rows, exitCode: failed ? 1 : drifted ? 3 : 0 };
}

/** The summary table printed at the end. */
export function summaryTable(command: Command, rows: Row[]): string {
  const header = [
    'stack',
    'region',
    'result',
    command === 'drift' ? 'drifted' : 'changes',
    'policy violations',
    'duration',
  ];
  const cells = rows.map((r) => [
    r.stack,
    r.region,
    r.result === 'failed' ? `FAILED: ${r.error}` : r.result,
    r.changes === undefined ? '—' : String(r.changes),
    r.policyViolations === undefined ? '—' : String(r.policyViolations),
    r.durationMs === undefined ? '—' : `${(r.durationMs / 1000).toFixed(1)} s`,
  ]);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...cells.map((c) => `| ${c.join(' | ')} |`),
  ].join('\n');
}
