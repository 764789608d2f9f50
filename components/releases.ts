import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { functionNames, type FunctionName } from './function-roles';
import { liveAlias } from './platform-functions';
import { serviceRole } from './service-role';
import { classified } from './tags';

/** CodeDeploy's predefined ways to shift a Lambda alias to a new version. */
export const releaseStrategies = [
  'CodeDeployDefault.LambdaAllAtOnce',
  'CodeDeployDefault.LambdaCanary10Percent5Minutes',
  'CodeDeployDefault.LambdaCanary10Percent10Minutes',
  'CodeDeployDefault.LambdaCanary10Percent15Minutes',
  'CodeDeployDefault.LambdaCanary10Percent30Minutes',
  'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
  'CodeDeployDefault.LambdaLinear10PercentEvery3Minutes',
] as const;
export type ReleaseStrategy = (typeof releaseStrategies)[number];

/** What the deploy command needs to release one function: `deploy/release.ts` reads it from the stack outputs. */
export interface ReleaseTarget {
  functionName: string;
  alias: string;
  version: string;
  application: string;
  deploymentGroup: string;
}

export interface ReleasesArgs {
  /** The zone, in names. */
  zone: string;
  /** The home region, where CodeDeploy runs the releases. */
  region: string;
  /** The functions and their `live` aliases. */
  functions: Record<FunctionName, { function: aws.lambda.Function; alias: aws.lambda.Alias }>;
  /** How traffic moves to a new version. @default CodeDeployDefault.LambdaCanary10Percent5Minutes */
  strategy?: ReleaseStrategy;
  /** Alarms that stop a release and roll it back while traffic shifts (the API's 5xx, each function's errors). */
  rollbackAlarmNames: pulumi.Input<string>[];
  /** Change a deployment group before it is created (SST-style transform). */
  transform?: { deploymentGroup?: (args: aws.codedeploy.DeploymentGroupArgs, fn: FunctionName) => void };
}

/**
 * Releases that cannot take a zone down: a CodeDeploy application and, per function, a deployment
 * group that shifts the function's `live` alias to a newly published version — gradually, by the
 * stack's strategy — and rolls back by itself when a rollback alarm fires during the shift or the
 * deployment fails. Pulumi publishes the version; `npm run deploy -- up` starts the shift.
 */
export class Releases extends pulumi.ComponentResource {
  public readonly application: aws.codedeploy.Application;
  public readonly deploymentGroups: Record<FunctionName, aws.codedeploy.DeploymentGroup>;
  /** One entry per function, for the deploy command. */
  public readonly targets: pulumi.Output<ReleaseTarget[]>;

  constructor(name: string, args: ReleasesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:compute:Releases', name, {}, opts);
    this.application = new aws.codedeploy.Application(
      `${name}-app`,
      { computePlatform: 'Lambda', tags: classified('none') },
      { parent: this },
    );
    const role = this.createServiceRole(name, args);
    this.deploymentGroups = Object.fromEntries(
      functionNames.map((fn) => [fn, this.createDeploymentGroup(name, fn, args, role)]),
    ) as Record<FunctionName, aws.codedeploy.DeploymentGroup>;
    this.targets = pulumi.all(
      functionNames.map((fn) =>
        pulumi
          .all([
            args.functions[fn].function.name,
            args.functions[fn].function.version,
            this.application.name,
            this.deploymentGroups[fn].deploymentGroupName,
          ])
          .apply(([functionName, version, application, deploymentGroup]) => ({
            functionName,
            alias: liveAlias,
            version,
            application,
            deploymentGroup,
          })),
      ),
    );
    this.registerOutputs({ applicationName: this.application.name, targets: this.targets });
  }

  private createServiceRole(name: string, args: ReleasesArgs) {
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    return serviceRole(
      `${name}-codedeploy`,
      {
        service: 'codedeploy.amazonaws.com',
        description: 'CodeDeploy shifts the functions’ live aliases',
        managedPolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda',
        // Only this application's deployment groups.
        sourceArn: pulumi.interpolate`arn:aws:codedeploy:${args.region}:${account}:deploymentgroup:${this.application.name}/*`,
      },
      this,
    );
  }

  private createDeploymentGroup(
    name: string,
    fn: FunctionName,
    args: ReleasesArgs,
    service: { role: aws.iam.Role; policy: aws.iam.RolePolicyAttachment },
  ) {
    const groupArgs: aws.codedeploy.DeploymentGroupArgs = {
      appName: this.application.name,
      deploymentGroupName: pulumi.interpolate`${args.functions[fn].function.name}-live`,
      serviceRoleArn: service.role.arn,
      deploymentConfigName: args.strategy ?? 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
      alarmConfiguration: { enabled: true, alarms: args.rollbackAlarmNames },
      tags: classified('none'),
    };
    args.transform?.deploymentGroup?.(groupArgs, fn);
    return new aws.codedeploy.DeploymentGroup(`${name}-${fn}`, groupArgs, {
      parent: this,
      dependsOn: [service.policy],
    });
  }
}
