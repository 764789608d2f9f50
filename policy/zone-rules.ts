import type { PolicyConfigSchema } from '@pulumi/policy';
import { zones } from '../contract';
import type { StackConfig } from '../components/stack-config';

/**
 * The settings of a zone the policies judge its stack by. The pack gets them as Pulumi gives any
 * pack its settings, its policy configuration (`--policy-pack-config`, or a policy group's config),
 * never from a stack file: it runs where no checkout is, and judges a stack whose other values it
 * need not know.
 */
export type ZoneRules = Pick<
  StackConfig,
  'zone' | 'allowedRegions' | 'replicaRegions' | 'production' | 'managesApiGatewayAccount'
>;
export type Rule = keyof ZoneRules;

type PolicyConfigJSONSchema = PolicyConfigSchema['properties'][string];

const regions: PolicyConfigJSONSchema = { type: 'array', items: { type: 'string' } };

/** Each rule as the pack's configuration schema declares it; the engine checks a configuration against it. */
const ruleSchemas: Record<Rule, PolicyConfigJSONSchema> = {
  zone: { type: 'string', enum: [...zones] },
  allowedRegions: { ...regions, minItems: 1 },
  replicaRegions: regions,
  production: { type: 'boolean' },
  managesApiGatewayAccount: { type: 'boolean' },
};

/** The rules a policy reads: its configuration schema (all required) and their typed reader. */
export function readsRules<K extends Rule>(...rules: K[]) {
  const properties = Object.fromEntries(rules.map((r) => [r, ruleSchemas[r]]));
  const configSchema: PolicyConfigSchema = { properties, required: rules };
  return { configSchema, of: (args: { getConfig<T extends object>(): T }) => args.getConfig<Pick<ZoneRules, K>>() };
}

/** A zone's rules, from its validated stack configuration (the one place they are spelled). */
export const zoneRules = (config: StackConfig): ZoneRules => ({
  zone: config.zone,
  allowedRegions: config.allowedRegions,
  replicaRegions: config.replicaRegions,
  production: config.production,
  managesApiGatewayAccount: config.managesApiGatewayAccount,
});

/**
 * The pack's configuration for a zone, as a `--policy-pack-config` file holds it: each policy
 * that reads rules gets the ones its schema names.
 */
export function policyPackConfig(
  rules: ZoneRules,
  policies: { name: string; configSchema?: PolicyConfigSchema }[],
): Record<string, Partial<ZoneRules>> {
  const pick = (schema: PolicyConfigSchema) =>
    Object.fromEntries(Object.keys(schema.properties).map((k) => [k, rules[k as Rule]]));
  return Object.fromEntries(policies.flatMap((p) => (p.configSchema ? [[p.name, pick(p.configSchema)]] : [])));
}
