import type * as pulumi from '@pulumi/pulumi';

/** One allow statement of a role policy; each resource component grants its own with `grant*()`. */
export interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: pulumi.Input<string> | pulumi.Input<string>[] | pulumi.Input<string[]>;
  Condition?: object;
}
