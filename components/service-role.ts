import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { classified } from './tags';

/** The trust policy of a role only `service` (e.g. `lambda.amazonaws.com`) may assume. */
export const assumableBy = (service: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });

/**
 * The trust policy of a role `service` assumes on behalf of this account's own resources only: the
 * service passes the account and the resource it acts for, so no other account's resource (a
 * confused deputy) can make the service act with this role.
 */
const assumableOnBehalfOf = (service: string, sourceAccount: pulumi.Input<string>, sourceArn: pulumi.Input<string>) =>
  pulumi.jsonStringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': sourceAccount }, ArnLike: { 'aws:SourceArn': sourceArn } },
      },
    ],
  });

export interface ServiceRoleArgs {
  /** The service principal, e.g. `codedeploy.amazonaws.com`. */
  service: string;
  description: string;
  /** One of AWS's managed service-role policies. */
  managedPolicyArn: string;
  /** The resources the service may act for with this role (`aws:SourceArn`, wildcards allowed), all in this account. */
  sourceArn: pulumi.Input<string>;
}

/**
 * A role an AWS service assumes with one of AWS's managed service-role policies, only for this
 * account's `sourceArn`. Returns both, so whatever uses the role can depend on the attachment: a
 * role without its policy fails at first use.
 */
export function serviceRole(name: string, args: ServiceRoleArgs, parent: pulumi.Resource) {
  const account = aws.getCallerIdentityOutput({}, { parent }).accountId;
  const role = new aws.iam.Role(
    name,
    {
      description: args.description,
      assumeRolePolicy: assumableOnBehalfOf(args.service, account, args.sourceArn),
      tags: classified('none'),
    },
    { parent },
  );
  const policy = new aws.iam.RolePolicyAttachment(
    `${name}-policy`,
    { role: role.name, policyArn: args.managedPolicyArn },
    { parent },
  );
  return { role, policy };
}
