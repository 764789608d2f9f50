import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  LocalWorkspace,
  type EngineEvent,
  type OpMap,
  type Stack,
  type StepEventMetadata,
} from '@pulumi/pulumi/automation';
import { fileURLToPath } from 'node:url';
import type { ReleaseTarget } from '../components/releases';
import type { StackConfig } from '../components/stack-config';
import { policyPackDir } from '../policy/build';
import { writePolicyPackConfig } from '../policy/pack-config';
import type { ZoneStack } from './orchestrate';
import { awsClients, publicDns, runPreflight, type PreflightDeps } from './preflight-checks';
import { release } from './release';

const projectDir = fileURLToPath(new URL('..', import.meta.url));

const changed = (ops: OpMap | undefined) =>
  Object.entries(ops ?? {}).reduce((n, [op, count]) => (op === 'same' || op === 'read' ? n : n + (count ?? 0)), 0);

/**
 * Whether a refresh step found the resource changed outside Pulumi. Every refresh step carries op
 * `refresh` (some engines report the result, `update` or `delete`, instead); the change is in what it
 * read: the resource gone, or keys that differ from the state.
 */
export const drifted = (step: StepEventMetadata) =>
  step.op === 'refresh'
    ? !step.new || (step.diffs?.length ?? 0) > 0 || Object.keys(step.detailedDiff ?? {}).length > 0
    : step.op === 'update' || step.op === 'delete';

/** What the adapter asks of a Pulumi stack; tests give a fake one. */
export type PulumiStack = Pick<Stack, 'preview' | 'up' | 'previewRefresh'>;

/**
 * A zone's stack on Pulumi's Automation API: one `LocalWorkspace` per stack over this program
 * (parallel selection in one workspace corrupts `workspace.json`, pulumi/pulumi#8186), the policy
 * pack on every preview and update. Kept thin: the orchestration is tested without it.
 */
export function automationStack(
  name: string,
  config: StackConfig,
  preflight: Omit<PreflightDeps, 'clients' | 'dns'>,
  progress: (line: string) => void,
  select: () => Promise<PulumiStack> = () =>
    LocalWorkspace.createOrSelectStack({ stackName: name, workDir: projectDir }),
): ZoneStack {
  /** Counts the policy pack's findings and prints each: the table's count alone says nothing to fix. */
  const counter = () => {
    let violations = 0;
    const onEvent = (e: EngineEvent) => {
      const finding = e.policyEvent;
      if (!finding) return;
      violations++;
      const resource = finding.resourceUrn ? ` on ${finding.resourceUrn.split('::').pop()}` : '';
      progress(
        `${name}: policy ${finding.policyName} (${finding.enforcementLevel})${resource}: ${finding.message.trim()}`,
      );
    };
    return { onEvent, violations: () => violations };
  };
  const output = (line: string) => progress(line.trimEnd());
  /** The pack, given this zone's rules as its configuration (`policy/zone-rules.ts`). */
  const policyPacks = () => ({ policyPacks: [policyPackDir], policyPackConfigs: [writePolicyPackConfig(config)] });
  return {
    name,
    region: config.homeRegion,
    preflight: () => runPreflight(name, config, { ...preflight, clients: awsClients, dns: publicDns }),
    async preview() {
      const policy = counter();
      const result = await (await select()).preview({ ...policyPacks(), onEvent: policy.onEvent, onOutput: output });
      return { changes: changed(result.changeSummary), policyViolations: policy.violations() };
    },
    async up() {
      const policy = counter();
      const result = await (await select()).up({ ...policyPacks(), onEvent: policy.onEvent, onOutput: output });
      const targets = (result.outputs.releases?.value ?? []) as ReleaseTarget[];
      const region = config.homeRegion;
      await release(
        targets,
        { lambda: new LambdaClient({ region }), codedeploy: new CodeDeployClient({ region }) },
        { progress },
      );
      return { changes: changed(result.summary.resourceChanges), policyViolations: policy.violations() };
    },
    async drift() {
      // A preview of a refresh: its summary counts what the refresh would change (`refresh` with
      // `previewOnly` returns the last update's summary instead). A step is judged once it has read
      // the resource: the outputs event, not the pre-event (which has no new state yet).
      const urns = new Set<string>();
      const result = await (await select()).previewRefresh({
        onEvent: (e) => {
          const step = e.resOutputsEvent?.metadata;
          if (step && drifted(step)) urns.add(step.urn);
        },
      });
      return {
        changes: changed(result.changeSummary),
        policyViolations: 0,
        drifted: [...urns].map((urn) => urn.split('::').pop()!),
      };
    },
  };
}
