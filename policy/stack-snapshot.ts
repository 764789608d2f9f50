import { generateKeyPairSync } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { assertDeployable, Zone, type ZoneArgs } from '../components/zone';
import { loadStackConfig, type StackConfig } from '../components/stack-config';
import { stackYamlConfig, type StackName } from './stack-yaml';

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
  /** Names of the resources Pulumi creates before this one: explicit `dependsOn` and every resource an input comes from. */
  dependencies: string[];
}

export interface StackSnapshot {
  stack: StackName;
  config: StackConfig;
  resources: ResourceRecord[];
  outputs: Record<string, unknown>;
}

/** The mock account. Not AWS's documentation account 123456789012, which the stack config refuses. */
export const mockAccount = '111122223333';
const account = mockAccount;

/**
 * What a platform engineer sets before the first `pulumi up` of a production stack (the stack files
 * ship `SET-ME` there, refused at preview): well-formed values, so the mock run shows the stack as
 * it deploys.
 */
const mockDeployValues: Record<string, (stack: string, region: string) => string> = {
  hostedZoneId: () => 'Z04SERENYAMOCK',
  credentialsSecretArn: (_stack, region) =>
    `arn:aws:secretsmanager:${region}:${account}:secret:serenya/google-play-api-key-Ab12Cd`,
  appleSignInSecretArn: (_stack, region) =>
    `arn:aws:secretsmanager:${region}:${account}:secret:serenya/sign-in-with-apple-key-Ef34Gh`,
  googleClientIds: () => '987654321098-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.apps.googleusercontent.com',
  appAppleId: () => '1234567890',
};

/** What KMS answers for the signing key's public key: a real RSA key's DER, so the JWKS parses. */
const mockSigningPublicKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .publicKey.export({ format: 'der', type: 'spki' })
  .toString('base64');

/** The hosted zone Route 53 answers for the mock's zone id. */
const mockHostedZone = { name: 'serenya.health.', privateZone: false };

/** The stack file's config with each `SET-ME` value filled in as the platform engineer would. */
export function withDeployValues(stack: string, config: Record<string, string>): Record<string, string> {
  const region = config['aws:region'] ?? 'unknown-region';
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      if (!value.includes('SET-ME')) return [key, value];
      const placeholder = (v: unknown) => typeof v === 'string' && v.startsWith('SET-ME');
      // A list's placeholders are filled by the list's key (`googleClientIds: [SET-ME …]`).
      const fill = (k: string, v: unknown) => (placeholder(v) ? mockDeployValues[k]!(stack, region) : v);
      const filled = JSON.parse(value, (k, v) =>
        !mockDeployValues[k] ? v : Array.isArray(v) ? v.map((x) => fill(k, x)) : fill(k, v),
      );
      return [key, JSON.stringify(filled)];
    }),
  );
}

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
      return {
        ...common,
        arn: `arn:aws:dynamodb:${region}:${account}:table/${inputs.name}`,
        streamArn: `arn:aws:dynamodb:${region}:${account}:table/${inputs.name}/stream/2026-11-24T00:00:00.000`,
      };
    case 'aws:kms/key:Key':
    case 'aws:kms/replicaKey:ReplicaKey':
      return { ...common, arn: `arn:aws:kms:${region}:${account}:key/${name}`, keyId: name };
    case 'aws:lambda/function:Function':
      return {
        ...common,
        arn: `arn:aws:lambda:${region}:${account}:function:${inputs.name}`,
        invokeArn: `arn:aws:apigateway:${region}:lambda:path/functions/${inputs.name}/invocations`,
        version: '1',
      };
    case 'aws:iam/role:Role':
      return { ...common, arn: `arn:aws:iam::${account}:role/${name}`, name };
    case 'aws:lambda/alias:Alias': {
      const arn = `arn:aws:lambda:${region}:${account}:function:${inputs.functionName}:${inputs.name}`;
      return {
        ...common,
        arn,
        invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
      };
    }
    case 'aws:apigateway/restApi:RestApi':
      return {
        ...common,
        id: 'a1b2c3d4e5',
        rootResourceId: 'root123',
        executionArn: `arn:aws:execute-api:${region}:${account}:a1b2c3d4e5`,
      };
    case 'aws:apigateway/domainName:DomainName':
      return {
        ...common,
        regionalDomainName: `d-${name}.execute-api.${region}.amazonaws.com`,
        regionalZoneId: 'ZREGIONAL',
      };
    case 'aws:acm/certificate:Certificate':
      return {
        ...common,
        domainValidationOptions: [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].map(
          (domainName: string) => ({
            domainName,
            resourceRecordName: `_x.${domainName}.`,
            resourceRecordType: 'CNAME',
            resourceRecordValue: `_y.acm-validations.aws.`,
          }),
        ),
      };
    case 'aws:route53/record:Record':
      return { ...common, fqdn: inputs.name };
    case 'aws:acm/certificateValidation:CertificateValidation':
      return { ...common, certificateArn: inputs.certificateArn };
    default:
      return common;
  }
}

/** What the mock account answers to the program's look-ups, where a test changes it. */
export interface MockCloudOptions {
  /** What Route 53 answers for the hosted zone. @default mockHostedZone */
  hostedZone?: { name: string; privateZone: boolean };
  /** The regions Bedrock says the inference profile routes to. @default the stack's inferenceRegions */
  profileRegions?: string[];
}

/**
 * The mock account a stack runs against, given the stack's configuration: each new resource's state
 * and each invoke's answer, and a record of every resource declared. Pulumi's mocks (`snapshotStack`)
 * and the resource monitor the program meets under Pulumi's own runner both answer with it.
 */
export function mockCloud(
  config: Record<string, string>,
  options: MockCloudOptions = {},
): pulumi.runtime.Mocks & { resources: ResourceRecord[] } {
  const resources: ResourceRecord[] = [];
  const providerRegions = new Map<string, { name: string; region: string }>();
  return {
    resources,
    newResource({ type, name, inputs, provider, custom }) {
      if (type === 'pulumi:providers:aws') {
        const id = `${name}-provider-id`;
        providerRegions.set(id, { name, region: inputs.region });
        resources.push({
          type,
          name,
          custom: true,
          inputs,
          state: inputs,
          region: inputs.region,
          providerName: name,
          dependencies: [],
        });
        return { id, state: inputs };
      }
      const viaProvider = provider ? providerRegions.get(provider.split('::').pop() ?? '') : undefined;
      const region = (inputs.region as string | undefined) ?? viaProvider?.region;
      const state = { ...inputs, ...computedState(type, name, inputs, region ?? 'unknown-region') };
      resources.push({
        type,
        name,
        custom: custom ?? false,
        inputs,
        state,
        region,
        providerName: viaProvider?.name,
        dependencies: [],
      });
      return { id: state.id, state };
    },
    call({ token, inputs }) {
      if (token === 'aws:index/getCallerIdentity:getCallerIdentity')
        return { accountId: account, arn: `arn:aws:iam::${account}:user/ci`, userId: 'ci', id: account };
      if (token === 'aws:kms/getPublicKey:getPublicKey')
        return { id: inputs.keyId, keyId: inputs.keyId, publicKey: mockSigningPublicKey, keySpec: 'RSA_2048' };
      if (token === 'aws:route53/getZone:getZone')
        return { id: inputs.zoneId, zoneId: inputs.zoneId, ...(options.hostedZone ?? mockHostedZone) };
      if (token === 'aws:bedrock/getInferenceProfile:getInferenceProfile') {
        const id = String(inputs.inferenceProfileId);
        const regions = options.profileRegions ?? JSON.parse(config['serenya:bedrock'] ?? '{}').inferenceRegions ?? [];
        const home = config['aws:region'];
        return {
          inferenceProfileId: id,
          inferenceProfileArn: `arn:aws:bedrock:${home}:${account}:inference-profile/${id}`,
          models: regions.map((r: string) => ({
            modelArn: `arn:aws:bedrock:${r}::foundation-model/${id.slice(id.indexOf('.') + 1)}`,
          })),
          status: 'ACTIVE',
          type: 'SYSTEM_DEFINED',
        };
      }
      return inputs;
    },
  };
}

/** Pulumi's mocks and configuration are the process's: one mock deployment at a time. */
let previous: Promise<unknown> = Promise.resolve();

/**
 * Runs the real program of a stack — its YAML configuration through `loadStackConfig`, then
 * `Zone` — against Pulumi's mock monitor, and returns every resource it declared.
 * `changeConfig` edits the YAML configuration first (to prove that bad configurations are refused).
 */
export function snapshotStack(...args: Parameters<typeof runMockDeployment>): Promise<StackSnapshot> {
  const run = previous.catch(() => undefined).then(() => runMockDeployment(...args));
  previous = run;
  return run;
}

async function runMockDeployment(
  stack: StackName,
  options: MockCloudOptions & {
    changeConfig?: (config: Record<string, string>) => Record<string, string>;
    /** Leave the stack file's `SET-ME` placeholders as they are (to prove they are refused). @default filled in */
    asShipped?: boolean;
    code?: pulumi.asset.Archive;
    /** Declares more resources beside the platform, as a careless change would. */
    extra?: () => void;
    /** The stack's changes to single resources (`ZoneArgs.transform`). @default none */
    transform?: ZoneArgs['transform'];
  } = {},
): Promise<StackSnapshot> {
  const yamlConfig = options.asShipped ? stackYamlConfig(stack) : withDeployValues(stack, stackYamlConfig(stack));
  const config = options.changeConfig ? options.changeConfig(yamlConfig) : yamlConfig;
  const cloud = mockCloud(config, options);
  const resources = cloud.resources;

  pulumi.runtime.setAllConfig(config);
  await pulumi.runtime.setMocks(cloud, 'serenya', stack, false);

  const dependencies = new Map<string, Promise<string[]>>();
  const recordDependencies: pulumi.ResourceTransformation = ({ type, name, props, opts }) => {
    dependencies.set(`${type}::${name}`, dependenciesOf(props, opts));
    return undefined;
  };

  const stackConfig = loadStackConfig();
  const { outputs, problems } = await withoutStackTraces(async () => {
    const platform = new Zone(
      'serenya',
      { config: stackConfig, stack, code: options.code, transform: options.transform },
      { transformations: [recordDependencies] },
    );
    options.extra?.();
    const outputs = (await new Promise((resolve) => pulumi.output(platform.outputs).apply(resolve))) as Record<
      string,
      unknown
    >;
    // As `pulumi preview` would (`index.ts`): a problem found against the account fails the run.
    const problems = await new Promise<string[]>((resolve) => platform.deployProblems.apply(resolve));
    // Registrations finish asynchronously; wait until no new resource appears.
    for (let seen = -1; seen !== resources.length; ) {
      seen = resources.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const r of resources) r.dependencies = (await dependencies.get(`${r.type}::${r.name}`)) ?? [];
    return { outputs, problems };
  });
  assertDeployable(problems);
  return { stack, config: stackConfig, resources, outputs };
}

/**
 * Runs a mock deployment without stack traces. Pulumi takes one for every promise it makes (for a
 * leak report; none with the limit at 0) and every resource (for a source position the mocks never
 * show; it lifts the limit itself, so only the source-map formatter is left out there). Mapped
 * through source maps under a test runner, they were three quarters of a snapshot's time. The
 * limit is the worker thread's: other work of the thread meanwhile, and an error the program
 * throws, carry no stack either (its message names the problem).
 */
async function withoutStackTraces<T>(run: () => Promise<T>): Promise<T> {
  const errors: { stackTraceLimit: number; prepareStackTrace?: unknown } = Error;
  const { stackTraceLimit, prepareStackTrace } = errors;
  errors.stackTraceLimit = 0;
  errors.prepareStackTrace = undefined;
  try {
    return await run();
  } finally {
    errors.stackTraceLimit = stackTraceLimit;
    errors.prepareStackTrace = prepareStackTrace;
  }
}

/** The resources a registration waits for, as the engine orders them: `dependsOn` and every input's resources. */
async function dependenciesOf(props: Record<string, unknown>, opts: pulumi.ResourceOptions): Promise<string[]> {
  const found = new Set<pulumi.Resource>();
  const outputs: Promise<void>[] = [];
  const walk = (value: unknown) => {
    if (pulumi.Output.isInstance(value)) {
      // Internal to Pulumi's Output, and the only place that knows an input's resources.
      const all = (value as unknown as { allResources?: () => Promise<Set<pulumi.Resource>> }).allResources?.();
      if (all) outputs.push(all.then((set) => set.forEach((r) => void found.add(r))));
    } else if (pulumi.Resource.isInstance(value)) found.add(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (
      value &&
      typeof value === 'object' &&
      !(value instanceof pulumi.asset.Asset) &&
      !(value instanceof pulumi.asset.Archive)
    )
      Object.values(value).forEach(walk);
  };
  walk(props);
  const explicit = opts.dependsOn;
  for (const d of Array.isArray(explicit) ? explicit : explicit ? [explicit] : [])
    if (pulumi.Resource.isInstance(d)) found.add(d);
  await Promise.all(outputs);
  return [...found].map((r) => (r as unknown as { __name: string }).__name).sort();
}
