import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { assumableBy } from './service-role';
import { classified } from './tags';

/** `chat` serves streamed chat answers (Lambda response streaming); `stream` reads the table's stream. */
export type FunctionName = 'api' | 'worker' | 'stream' | 'chat';
export const functionNames: FunctionName[] = ['api', 'worker', 'stream', 'chat'];

/**
 * One execution role per function, created before the keys so the key policies can name them;
 * their permissions are attached by `PlatformFunctions` once the resources they cover exist.
 */
export class FunctionRoles extends pulumi.ComponentResource {
  public readonly roles: Record<FunctionName, aws.iam.Role>;

  constructor(name: string, args: Record<string, never> = {}, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:compute:FunctionRoles', name, args, opts);
    this.roles = Object.fromEntries(functionNames.map((fn) => [fn, this.createRole(name, fn)])) as Record<
      FunctionName,
      aws.iam.Role
    >;
    this.registerOutputs(Object.fromEntries(functionNames.map((fn) => [`${fn}RoleArn`, this.roles[fn].arn])));
  }

  private createRole(name: string, fn: FunctionName) {
    return new aws.iam.Role(
      `${name}-${fn}`,
      {
        description: `Serenya ${fn} function`,
        assumeRolePolicy: assumableBy('lambda.amazonaws.com'),
        tags: classified('none'),
      },
      { parent: this },
    );
  }
}
