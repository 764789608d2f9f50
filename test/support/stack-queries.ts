import * as pulumi from '@pulumi/pulumi';
import type { StackSnapshot } from '../../policy/stack-snapshot';

/** Lambda code for stacks under mocks: no bundle is built. */
export const stubCode = new pulumi.asset.AssetArchive({});

/** The snapshot's resources of one Pulumi type. */
export const ofType = (s: StackSnapshot, type: string) => s.resources.filter((r) => r.type === type);
