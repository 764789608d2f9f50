import * as pulumi from '@pulumi/pulumi';
import { assertDeployable, Zone } from './components/zone';
import { loadStackConfig } from './components/stack-config';

/**
 * One data-residency zone per stack: `pulumi stack select prod-eu && pulumi up`.
 * The configuration is validated before any resource is declared; a zone that names a region
 * outside its allow-list, or a global model profile, is refused with the value to fix.
 */
const config = loadStackConfig();
const platform = new Zone('serenya', { config, stack: pulumi.getStack() });

export const {
  zone,
  region,
  allowedRegions,
  apiUrl,
  usersTable,
  usersTableReplicaRegions,
  tempBucket,
  auditBucket,
  dataKeyArn,
  dataKeyReplicaArns,
  signingKeyArn,
  emailMacKeyArn,
  functionNames,
  modelId,
  bedrockArns,
  releases,
} = platform.outputs;

/** Preview fails here, naming each problem, when the account does not match the configuration. */
export const deployChecks = platform.deployProblems.apply(assertDeployable);
