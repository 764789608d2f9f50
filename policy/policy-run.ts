import type { PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs } from '@pulumi/policy';
import { zonePolicies } from './policies';
import type { StackSnapshot } from './stack-snapshot';
import { policyPackConfig, zoneRules, type ZoneRules } from './zone-rules';

export interface Violation {
  policy: string;
  message: string;
  resource?: string;
}

/** One resource of a snapshot as the engine hands it to a policy pack. */
export interface EngineResource {
  urn: string;
  type: string;
  name: string;
  /** What `Analyze` sees as the resource registers. */
  inputs: Record<string, any>;
  /** What `AnalyzeStack` sees once it exists. */
  outputs: Record<string, any>;
  provider?: { urn: string; type: string; name: string; props: Record<string, any> };
  dependencies: string[];
}

/** A snapshot's resources as the engine presents them: URNs, the provider attached, dependencies by URN. */
export function engineResources(snapshot: StackSnapshot): EngineResource[] {
  const urn = (type: string, name: string) => `urn:pulumi:${snapshot.stack}::serenya::${type}::${name}`;
  const byName = new Map(snapshot.resources.map((r) => [r.name, r]));
  return snapshot.resources.map((r) => {
    const provider = r.providerName && r.type !== 'pulumi:providers:aws' ? byName.get(r.providerName) : undefined;
    return {
      urn: urn(r.type, r.name),
      type: r.type,
      name: r.name,
      inputs: r.inputs,
      outputs: r.state,
      provider: provider && {
        urn: urn(provider.type, provider.name),
        type: provider.type,
        name: provider.name,
        props: provider.inputs,
      },
      dependencies: r.dependencies.flatMap((d) => (byName.has(d) ? [urn(byName.get(d)!.type, d)] : [])),
    };
  });
}

/** How `@pulumi/policy` matches a resource to a class: by the class's Pulumi type. */
const isTypeOf = (type: string, resourceClass: unknown) =>
  (resourceClass as { __pulumiType?: string }).__pulumiType === type;
class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

/**
 * Runs every zone policy over a snapshot in this process, as the pack's server would: resource
 * policies on each resource's inputs, stack policies on the outputs, each policy given its part of
 * `policyPackConfig(rules)`. Fast, for tests that judge many variants of a stack; that Pulumi's own
 * runner loads and serves the same pack is proven over gRPC (`test/infrastructure/policy-pack-runner.test.ts`).
 */
export async function runPolicies(
  snapshot: StackSnapshot,
  rules: ZoneRules = zoneRules(snapshot.config),
): Promise<{ name: string; violations: Violation[] }[]> {
  const config = policyPackConfig(rules, zonePolicies);
  const resources = engineResources(snapshot);
  const stackTags = new Map<string, string>();
  const customTimeouts = { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 };
  const opts: PolicyResource['opts'] = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    additionalSecretOutputs: [],
    customTimeouts,
  };
  const asStack: PolicyResource[] = resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.outputs,
    opts,
    provider: r.provider,
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => isTypeOf(r.type, cls),
    asType: (cls) => (isTypeOf(r.type, cls) ? (r.outputs as never) : undefined),
  }));
  const byUrn = new Map(asStack.map((r) => [r.urn, r]));
  resources.forEach((r, i) => {
    asStack[i]!.dependencies.push(...r.dependencies.map((d) => byUrn.get(d)!));
  });

  const results = [];
  for (const policy of zonePolicies) {
    const violations: Violation[] = [];
    const getConfig = <T extends object>() => (config[policy.name] ?? {}) as T;
    const report: ReportViolation = (message, urn) => violations.push({ policy: policy.name, message, resource: urn });
    try {
      if ('validateStack' in policy) {
        const args: StackValidationArgs = { resources: asStack, getConfig, stackTags, notApplicable };
        await policy.validateStack(args, report);
      } else {
        for (const r of resources) {
          const args: ResourceValidationArgs = {
            type: r.type,
            props: r.inputs,
            urn: r.urn,
            name: r.name,
            opts,
            provider: r.provider,
            stackTags,
            isType: (cls) => isTypeOf(r.type, cls),
            asType: (cls) => (isTypeOf(r.type, cls) ? (r.inputs as never) : undefined),
            getConfig,
            notApplicable,
          };
          for (const validate of [policy.validateResource ?? []].flat()) {
            try {
              await validate(args, (message) => report(message, r.urn));
            } catch (e) {
              if (!(e instanceof NotApplicable)) throw e;
            }
          }
        }
      }
    } catch (e) {
      if (!(e instanceof NotApplicable)) throw e;
    }
    results.push({ name: policy.name, violations });
  }
  return results;
}
