import * as pulumi from '@pulumi/pulumi';
import { RegionalPlatform } from '../components/regional-platform';
import { loadStackConfig, type StackConfig } from '../components/stack-config';
import { stackYamlConfig } from './stack-yaml';

export const stacks = ['dev', 'prod-eu', 'prod-us'] as const;
export type StackName = (typeof stacks)[number];

/** One resource the program declared, as a reviewer or a policy sees it. */
export interface ResourceRecord {
  type: string;
  name: string;
  /** True for cloud resources, false for components. */
  custom: boolean;
  inputs: Record<string, any>;
  /** What the mock cloud answered: inputs plus ids, ARNs and other computed values. */
  state: Record<string, any>;
  /** The region of the provider the resource was created with, or its own `region` input. */
  region?: string;
  /** The name of that provider resource; undefined means the default provider. */
  providerName?: string;
}

export interface StackSnapshot {
  stack: StackName;
  config: StackConfig;
  resources: ResourceRecord[];
  outputs: Record<string, unknown>;
}

const account = '123456789012';

/** What the mock cloud computes for a new resource: the outputs later resources and policies read. */
function computedState(type: string, name: string, inputs: Record<string, any>, region: string): Record<string, any> {
  const service = type.split(':')[1]?.split('/')[0] ?? 'unknown';
  const arn = `arn:aws:${service}:${region}:${account}:${name}`;
  const common = { arn, id: `${name}-id`, name: inputs.name ?? name };
  switch (type) {
    case 'aws:s3/bucket:Bucket': {
      // A bucket's id is its name, as in AWS.
      const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? `${name}-`}abc123`;
      return { ...common, id: bucket, bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    case 'aws:dynamodb/table:Table':
      return { ...common, arn: `arn:aws:dynamodb:${region}:${account}:table/${inputs.name}`, streamArn: `arn:aws:dynamodb:${region}:${account}:table/${inputs.name}/stream/2026-11-24T00:00:00.000` };
    case 'aws:kms/key:Key':
    case 'aws:kms/replicaKey:ReplicaKey':
      return { ...common, arn: `arn:aws:kms:${region}:${account}:key/${name}`, keyId: name };
    case 'aws:lambda/function:Function':
      return { ...common, arn: `arn:aws:lambda:${region}:${account}:function:${inputs.name}`, invokeArn: `arn:aws:apigateway:${region}:lambda:path/functions/${inputs.name}/invocations`, version: '1' };
    case 'aws:lambda/alias:Alias':
      return { ...common, invokeArn: `arn:aws:apigateway:${region}:lambda:path/functions/${name}/invocations` };
    case 'aws:apigateway/restApi:RestApi':
      return { ...common, id: 'a1b2c3d4e5', rootResourceId: 'root123', executionArn: `arn:aws:execute-api:${region}:${account}:a1b2c3d4e5` };
    case 'aws:apigateway/domainName:DomainName':
      return { ...common, regionalDomainName: `d-${name}.execute-api.${region}.amazonaws.com`, regionalZoneId: 'ZREGIONAL' };
    case 'aws:acm/certificate:Certificate':
      return {
        ...common,
        domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].map((domainName: string) => ({
          domainName,
          resourceRecordName: `_x.${domainName}.`,
          resourceRecordType: 'CNAME',
          resourceRecordValue: `_y.acm-validations.aws.`,
        })),
      };
    case 'aws:route53/record:Record':
      return { ...common, fqdn: inputs.name };
    case 'aws:acm/certificateValidation:CertificateValidation':
      return { ...common, certificateArn: inputs.certificateArn };
    case 'awsx:ec2:Vpc':
      return { ...common, vpcId: 'vpc-1', isolatedSubnetIds: ['subnet-a', 'subnet-b'], privateSubnetIds: [], publicSubnetIds: [] };
    default:
      return common;
  }
}

/**
 * Runs the real program of a stack — its YAML configuration through `loadStackConfig`, then
 * `RegionalPlatform` — against Pulumi's mock monitor, and returns every resource it declared.
 * `changeConfig` edits the YAML configuration first (to prove that bad configurations are refused).
 */
export async function snapshotStack(
  stack: StackName,
  options: {
    changeConfig?: (config: Record<string, string>) => Record<string, string>;
    code?: pulumi.asset.Archive;
    /** Declares more resources beside the platform, as a careless change would. */
    extra?: () => void;
  } = {},
): Promise<StackSnapshot> {
  const yamlConfig = stackYamlConfig(stack);
  const config = options.changeConfig ? options.changeConfig(yamlConfig) : yamlConfig;
  const resources: ResourceRecord[] = [];
  const providerRegions = new Map<string, { name: string; region: string }>();

  pulumi.runtime.setAllConfig(config);
  await pulumi.runtime.setMocks(
    {
      newResource({ type, name, inputs, provider, custom }) {
        if (type === 'pulumi:providers:aws') {
          const id = `${name}-provider-id`;
          providerRegions.set(id, { name, region: inputs.region });
          resources.push({ type, name, custom: true, inputs, state: inputs, region: inputs.region, providerName: name });
          return { id, state: inputs };
        }
        const viaProvider = provider ? providerRegions.get(provider.split('::').pop() ?? '') : undefined;
        const region = (inputs.region as string | undefined) ?? viaProvider?.region;
        const state = { ...inputs, ...computedState(type, name, inputs, region ?? 'unknown-region') };
        resources.push({ type, name, custom: custom ?? false, inputs, state, region, providerName: viaProvider?.name });
        return { id: state.id, state };
      },
      call({ token, inputs }) {
        if (token === 'aws:index/getCallerIdentity:getCallerIdentity') return { accountId: account, arn: `arn:aws:iam::${account}:user/ci`, userId: 'ci', id: account };
        if (token === 'aws:ec2/getPrefixList:getPrefixList') return { id: `pl-${String(inputs.name).split('.').pop()}`, name: inputs.name, cidrBlocks: [] };
        return inputs;
      },
    },
    'serenya',
    stack,
    false,
  );

  const stackConfig = loadStackConfig();
  const platform = new RegionalPlatform('serenya', { config: stackConfig, stack, code: options.code });
  options.extra?.();
  const outputs = (await new Promise((resolve) => pulumi.output(platform.outputs).apply(resolve))) as Record<string, unknown>;
  // Registrations finish asynchronously; wait until no new resource appears.
  for (let seen = -1; seen !== resources.length; ) {
    seen = resources.length;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { stack, config: stackConfig, resources, outputs };
}
