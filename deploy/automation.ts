import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { LocalWorkspace, type EngineEvent, type OpMap } from '@pulumi/pulumi/automation';
import { fileURLToPath } from 'node:url';
import type { ReleaseTarget } from '../components/releases';
import type { StackConfig } from '../components/stack-config';
import type { ZoneStack } from './orchestrate';
import { awsClients, runPreflight, type PreflightDeps } from './preflight-checks';
import { release } from './release';

const projectDir = fileURLToPath(new URL('..', import.meta.url));
const policyPack = fileURLToPath(new URL('../policy', import.meta.url));

const changed = (ops: OpMap | undefined) => Object.entries(ops ?? {}).reduce((n, [op, count]) => (op === 'same' || op === 'read' ? n : n + (count ?? 0)), 0);

/**
 * A zone's stack on Pulumi's Automation API: one `LocalWorkspace` per stack over this program
 * (parallel selection in one workspace corrupts `workspace.json`, pulumi/pulumi#8186), the policy
 * pack on every preview and update. Kept thin: the orchestration is tested without it.
 */
export function automationStack(name: string, config: StackConfig, preflight: Omit<PreflightDeps, 'clients'>, progress: (line: string) => void): ZoneStack {
  const select = () => LocalWorkspace.createOrSelectStack({ stackName: name, workDir: projectDir });
  const counter = () => {
    let violations = 0;
    const onEvent = (e: EngineEvent) => {
      if (e.policyEvent) violations++;
    };
    return { onEvent, violations: () => violations };
  };
  return {
    name,
    region: config.homeRegion,
    preflight: () => runPreflight(config, { ...preflight, clients: awsClients }),
    async preview() {
      const policy = counter();
      const result = await (await select()).preview({ policyPacks: [policyPack], onEvent: policy.onEvent });
      return { changes: changed(result.changeSummary), policyViolations: policy.violations() };
    },
    async up() {
      const policy = counter();
      const result = await (await select()).up({ policyPacks: [policyPack], onEvent: policy.onEvent, onOutput: (line) => progress(line.trimEnd()) });
      const targets = (result.outputs.releases?.value ?? []) as ReleaseTarget[];
      const region = config.homeRegion;
      await release(targets, { lambda: new LambdaClient({ region }), codedeploy: new CodeDeployClient({ region }) }, { progress });
      return { changes: changed(result.summary.resourceChanges), policyViolations: policy.violations() };
    },
    async drift() {
      const drifted: string[] = [];
      const result = await (await select()).refresh({
        previewOnly: true,
        onEvent: (e) => {
          const step = e.resOutputsEvent?.metadata ?? e.resourcePreEvent?.metadata;
          if (step && step.op !== 'same' && step.op !== 'read' && !drifted.includes(step.urn)) drifted.push(step.urn);
        },
      });
      return { changes: Math.max(changed(result.summary.resourceChanges), drifted.length), policyViolations: 0, drifted: drifted.map((urn) => urn.split('::').pop()!) };
    },
  };
}
