import type * as pulumi from '@pulumi/pulumi';

/**
 * A stack's change to one resource a component makes, in SST's style: args merged over the
 * component's, or a function that edits the args (and options) in place. The secure defaults stay
 * the defaults; a transform is the explicit opt-out, and the policy pack still judges the result.
 */
export type Transform<Args> = Partial<Args> | ((args: Args, opts: pulumi.CustomResourceOptions, name: string) => void);

/** The resource's name, args and options with the stack's transform applied, ready to spread into its constructor. */
export function transformed<Args extends object>(
  transform: Transform<Args> | undefined,
  name: string,
  args: Args,
  opts: pulumi.CustomResourceOptions,
): [string, Args, pulumi.CustomResourceOptions] {
  if (typeof transform === 'function') transform(args, opts, name);
  else if (transform) return [name, { ...args, ...transform }, opts];
  return [name, args, opts];
}
