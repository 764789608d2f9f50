import type { PolicyResource } from '@pulumi/policy';
import { zonePolicies, type ZoneRules } from './policies';
import type { StackSnapshot } from './stack-snapshot';

export interface Violation {
  policy: string;
  message: string;
  resource?: string;
}

/** A snapshot's resources as the policy engine presents them (outputs as props, provider attached). */
export function asPolicyResources(snapshot: StackSnapshot): PolicyResource[] {
  const urn = (type: string, name: string) => `urn:pulumi:${snapshot.stack}::serenya::${type}::${name}`;
  const resources = snapshot.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: urn(r.type, r.name),
    props: r.state,
    opts: {} as PolicyResource['opts'],
    provider: r.providerName && r.type !== 'pulumi:providers:aws'
      ? { type: 'pulumi:providers:aws', name: r.providerName, urn: urn('pulumi:providers:aws', r.providerName), props: { region: r.region } }
      : undefined,
    dependencies: [] as PolicyResource[],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  })) as unknown as PolicyResource[];
  // As the engine gives them: each resource's direct dependencies, as policy resources.
  const byName = new Map(resources.map((r) => [r.name, r]));
  snapshot.resources.forEach((r, i) => resources[i]!.dependencies.push(...r.dependencies.flatMap((d) => byName.get(d) ?? [])));
  return resources;
}

/** Runs every zone policy over a snapshot, as `pulumi up --policy-pack policy` would. */
export async function runPolicies(snapshot: StackSnapshot, rules: ZoneRules = snapshot.config): Promise<{ name: string; violations: Violation[] }[]> {
  const resources = asPolicyResources(snapshot);
  const results = [];
  for (const policy of zonePolicies(() => rules)) {
    const violations: Violation[] = [];
    await policy.validateStack(
      { resources, stackTags: new Map(), getConfig: () => ({}) as never, notApplicable: () => undefined as never },
      (message, urn) => violations.push({ policy: policy.name, message, resource: urn }),
    );
    results.push({ name: policy.name, violations });
  }
  return results;
}
