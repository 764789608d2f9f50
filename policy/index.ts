import { PolicyPack } from '@pulumi/policy';
import { zonePolicies } from './policies';
import { stackFileConfig } from './stack-yaml';

/**
 * `pulumi up --policy-pack policy`: the zone rules, mandatory. Each run reads the rules from the
 * stack's own `Pulumi.<stack>.yaml` (the stack is in every resource's URN). This file starts the
 * policy server: tests import `policies.ts` instead.
 */
new PolicyPack('serenya-zone', {
  enforcementLevel: 'mandatory',
  policies: zonePolicies((stack) => stackFileConfig(stack)),
});
