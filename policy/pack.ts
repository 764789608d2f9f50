import { PolicyPack } from '@pulumi/policy';
import { zonePolicies } from './policies';

/**
 * The pack's entry point. Pulumi runs it through its own runner (`@pulumi/pulumi/cmd/run-policy-pack`),
 * which loads CommonJS only: `npm run build:policy` bundles this file into `dist/pack.cjs`, the
 * `main` of `policy/package.json`, whose version the pack reports.
 */
new PolicyPack('serenya-zone', { enforcementLevel: 'mandatory', policies: zonePolicies });
