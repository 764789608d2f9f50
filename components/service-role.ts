import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import { classified } from './tags';

/** The trust policy of a role only `service` (e.g. `lambda.amazonaws.com`) may assume. */
export const assumableBy = (service: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });

/**
 * A role an AWS service assumes with one of AWS's managed service-role policies. Returns both, so
 * whatever uses the role can depend on the attachment: a role without its policy fails at first use.
 */
export function serviceRole(name: string, args: { service: string; description: string; managedPolicyArn: string }, parent: pulumi.Resource) {
  const role = new aws.iam.Role(name, { description: args.description, assumeRolePolicy: assumableBy(args.service), tags: classified('none') }, { parent });
  const policy = new aws.iam.RolePolicyAttachment(`${name}-policy`, { role: role.name, policyArn: args.managedPolicyArn }, { parent });
  return { role, policy };
}
