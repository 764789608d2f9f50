import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { ResolvedResource } from '@pulumi/pulumi/queryable';
import {
  validateResourceOfType,
  type Policies,
  type PolicyResource,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
} from '@pulumi/policy';
import { readsRules } from './zone-rules';

/**
 * The zone policies, all mandatory. Each judges the resources, not the program that declared them;
 * a zone's rules (its regions, whether it is production) come as the pack's configuration
 * (`zone-rules.ts`). Resource policies see a resource's inputs as it is registered; stack policies
 * see every resource's outputs and dependencies, for what one resource alone cannot show.
 */

/** Pulumi's type for an AWS provider (`aws.Provider` carries the package name, which `isType` cannot match). */
const awsProvider = 'pulumi:providers:aws';
type ResourceClass<T extends pulumi.Resource> = new (...rest: any[]) => T;

/** A value AWS takes as one or many (an IAM `Action`, a bucket's lifecycle rules), as a list. */
export const asArray = <X>(v: X | X[] | undefined): X[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/** An IAM or bucket policy document, given as JSON text or as an object. */
interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}
const statements = (policy: unknown): PolicyStatement[] => {
  try {
    type Document = { Statement?: PolicyStatement | PolicyStatement[] } | undefined;
    return asArray((typeof policy === 'string' ? (JSON.parse(policy) as Document) : (policy as Document))?.Statement);
  } catch {
    return [];
  }
};

/** Everything a resource waits for, directly or through what it waits for. */
function waitsFor(resource: PolicyResource): Set<PolicyResource> {
  const seen = new Set<PolicyResource>();
  const visit = (r: PolicyResource) => {
    for (const d of r.dependencies ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      visit(d);
    }
  };
  visit(resource);
  return seen;
}

/** The configurations of one type that apply to a bucket: by dependency when the engine gives one, else by name. */
function bucketConfigs<T extends pulumi.Resource>(
  resources: PolicyResource[],
  bucket: PolicyResource,
  type: ResourceClass<T>,
): ResolvedResource<T>[] {
  const name = bucket.asType(aws.s3.Bucket)?.bucket;
  return resources.flatMap((r) => {
    const config = r.asType(type);
    if (!config) return [];
    const byDependency = (r.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn);
    const named = (config as { bucket?: string }).bucket;
    return byDependency || (named !== undefined && named === name) ? [config] : [];
  });
}
const buckets = (resources: PolicyResource[]) => resources.filter((r) => r.isType(aws.s3.Bucket));

const regionRules = readsRules('zone', 'allowedRegions');
export const regionAllowList: ResourceValidationPolicy = {
  name: 'region-allow-list',
  description: 'Every AWS resource is created in one of the zone’s allowed regions, through an explicit provider.',
  enforcementLevel: 'mandatory',
  configSchema: regionRules.configSchema,
  validateResource: (args, report) => {
    const { zone, allowedRegions } = regionRules.of(args);
    const list = allowedRegions.join(', ');
    if (args.type === awsProvider) {
      const region = args.props.region as string | undefined;
      if (!region || !allowedRegions.includes(region))
        report(`Provider ${args.name} targets ${region}, outside zone ${zone}'s allowed regions (${list}).`);
      return;
    }
    if (!args.type.startsWith('aws:')) return;
    const region = (args.props.region ?? args.provider?.props.region) as string | undefined;
    if (!region) report(`${args.type} ${args.name} has no region; give it a provider pinned to one of ${list}.`);
    else if (!allowedRegions.includes(region))
      report(`${args.type} ${args.name} is in ${region}, outside zone ${zone}'s allowed regions (${list}).`);
  },
};

const replicaRules = readsRules('zone', 'allowedRegions', 'replicaRegions');
export const globalTableReplicasInZone: ResourceValidationPolicy = {
  name: 'global-table-replicas-in-zone',
  description: 'DynamoDB replicas are exactly the zone’s configured replica regions.',
  enforcementLevel: 'mandatory',
  configSchema: replicaRules.configSchema,
  validateResource: validateResourceOfType(aws.dynamodb.Table, (table, args, report) => {
    const { zone, allowedRegions, replicaRegions } = replicaRules.of(args);
    const regions = asArray(table.replicas).map((r) => r.regionName);
    for (const region of regions) {
      if (!allowedRegions.includes(region)) report(`Table ${args.name} replicates to ${region}, outside zone ${zone}.`);
    }
    if ([...regions].sort().join() !== [...replicaRegions].sort().join()) {
      report(
        `Table ${args.name} replicates to [${regions.join(', ')}] but the zone declares [${replicaRegions.join(', ')}].`,
      );
    }
  }),
};

export const kmsEncryptionAtRest: StackValidationPolicy = {
  name: 'kms-encryption-at-rest',
  description: 'Buckets and tables are encrypted with a customer-managed KMS key.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report) => {
    for (const bucket of buckets(resources)) {
      const kms = bucketConfigs(resources, bucket, aws.s3.BucketServerSideEncryptionConfiguration).some((c) =>
        asArray(c.rules).some((rule) => {
          const byDefault = rule.applyServerSideEncryptionByDefault;
          return byDefault?.sseAlgorithm === 'aws:kms' && byDefault.kmsMasterKeyId;
        }),
      );
      if (!kms)
        report(
          `Bucket ${bucket.name} has no SSE-KMS default encryption; add a BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and the zone's data key.`,
          bucket.urn,
        );
    }
    for (const r of resources) {
      const table = r.asType(aws.dynamodb.Table);
      if (table && (!table.serverSideEncryption?.enabled || !table.serverSideEncryption.kmsKeyArn)) {
        report(
          `Table ${r.name} is not encrypted with the zone's KMS key; set serverSideEncryption { enabled, kmsKeyArn }.`,
          r.urn,
        );
      }
    }
  },
};

export const tlsOnlyBucketPolicy: StackValidationPolicy = {
  name: 'tls-only-bucket-policy',
  description: 'Every bucket refuses requests that do not use TLS.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report) => {
    for (const bucket of buckets(resources)) {
      const tlsOnly = bucketConfigs(resources, bucket, aws.s3.BucketPolicy).some((p) =>
        statements(p.policy).some(
          (st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        ),
      );
      if (!tlsOnly)
        report(
          `Bucket ${bucket.name} accepts plain HTTP; add a bucket policy denying aws:SecureTransport = false.`,
          bucket.urn,
        );
    }
  },
};

export const blockPublicAccess: StackValidationPolicy = {
  name: 'block-public-access',
  description: 'Every bucket blocks all four kinds of public access.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report) => {
    for (const bucket of buckets(resources)) {
      const blocked = bucketConfigs(resources, bucket, aws.s3.BucketPublicAccessBlock).some(
        (b) => b.blockPublicAcls && b.blockPublicPolicy && b.ignorePublicAcls && b.restrictPublicBuckets,
      );
      if (!blocked)
        report(
          `Bucket ${bucket.name} does not block public access; add a BucketPublicAccessBlock with all four settings true.`,
          bucket.urn,
        );
    }
  },
};

export const tempBucketExpiry: StackValidationPolicy = {
  name: 'temp-bucket-expiry',
  description: 'Buckets that hold PHI in transit expire their objects within a day.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report) => {
    const holdsPhi = (b: PolicyResource) => b.asType(aws.s3.Bucket)?.tags?.['data-classification'] === 'phi-transient';
    for (const bucket of buckets(resources).filter(holdsPhi)) {
      const expires = bucketConfigs(resources, bucket, aws.s3.BucketLifecycleConfiguration).some((l) =>
        asArray(l.rules).some((rule) => rule.status === 'Enabled' && (rule.expiration?.days ?? Infinity) <= 1),
      );
      if (!expires)
        report(
          `Bucket ${bucket.name} holds PHI but keeps objects longer than a day; add a lifecycle rule expiring them after 1 day.`,
          bucket.urn,
        );
    }
  },
};

export const logRetention: ResourceValidationPolicy = {
  name: 'log-retention',
  description: 'Every log group has a retention period.',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (group, args, report) => {
    if (!group.retentionInDays) report(`Log group ${args.name} keeps logs forever; set retentionInDays.`);
  }),
};

const productionRules = readsRules('production');
export const pitrInProduction: ResourceValidationPolicy = {
  name: 'pitr-in-production',
  description: 'Production tables have point-in-time recovery on.',
  enforcementLevel: 'mandatory',
  configSchema: productionRules.configSchema,
  validateResource: validateResourceOfType(aws.dynamodb.Table, (table, args, report) => {
    if (productionRules.of(args).production && !table.pointInTimeRecovery?.enabled) {
      report(`Table ${args.name} has no point-in-time recovery in production; enable it.`);
    }
  }),
};

const bedrockRules = readsRules('zone', 'allowedRegions');
/** A grant's Bedrock resources, judged against the zone. */
type GrantArgs = Parameters<typeof bedrockRules.of>[0] & { name: string };
const bedrockGrants = (policy: unknown, args: GrantArgs, report: (message: string) => void) => {
  const { zone, allowedRegions } = bedrockRules.of(args);
  for (const st of statements(policy)) {
    if (!asArray(st.Action).some((a) => a.startsWith('bedrock:'))) continue;
    for (const arn of asArray(st.Resource)) {
      const region = arn.split(':')[3] ?? '';
      if (arn === '*' || arn.includes('/global.'))
        report(
          `${args.name} grants Bedrock on ${arn}, which may run outside zone ${zone}; grant this zone's geographic profile instead.`,
        );
      else if (!allowedRegions.includes(region))
        report(`${args.name} grants Bedrock in ${region}, outside zone ${zone}'s allowed regions.`);
    }
  }
};
export const bedrockInZone: ResourceValidationPolicy = {
  name: 'bedrock-in-zone',
  description: 'IAM grants Bedrock only on in-zone models and this zone’s geographic profile, never a global one.',
  enforcementLevel: 'mandatory',
  configSchema: bedrockRules.configSchema,
  validateResource: [
    validateResourceOfType(aws.iam.RolePolicy, (p, args, report) => bedrockGrants(p.policy, args, report)),
    validateResourceOfType(aws.iam.Policy, (p, args, report) => bedrockGrants(p.policy, args, report)),
  ],
};

const orderRules = readsRules('managesApiGatewayAccount');
export const awsCreationOrder: StackValidationPolicy = {
  name: 'aws-creation-order',
  description:
    'Where AWS refuses a resource before another exists, the stack orders them (mocks accept any order; AWS does not).',
  enforcementLevel: 'mandatory',
  configSchema: orderRules.configSchema,
  validateStack: (args, report) => {
    const { managesApiGatewayAccount } = orderRules.of(args);
    type Match = (d: PolicyResource) => boolean;
    const order = <T extends pulumi.Resource>(
      r: PolicyResource,
      type: ResourceClass<T>,
      why: string,
      match: Match = () => true,
    ) => {
      if ([...waitsFor(r)].some((d) => d.isType(type) && match(d))) return;
      report(`${r.type} ${r.name} is not ordered after its ${type.name}: ${why}`, r.urn);
    };
    for (const r of args.resources) {
      if (r.asType(aws.apigateway.Stage)?.accessLogSettings && managesApiGatewayAccount) {
        order(
          r,
          aws.apigateway.Account,
          'a stage with access logs is refused until the account’s CloudWatch Logs role is set.',
        );
      }
      if (r.isType(aws.s3.BucketNotification)) {
        const forS3 = (d: PolicyResource) => d.asType(aws.lambda.Permission)?.principal === 's3.amazonaws.com';
        order(r, aws.lambda.Permission, 'S3 refuses a Lambda notification it may not invoke yet.', forS3);
      }
      for (const replica of asArray(r.asType(aws.dynamodb.Table)?.replicas)) {
        const inRegion = (d: PolicyResource) => (d.props.region ?? d.provider?.props.region) === replica.regionName;
        order(
          r,
          aws.kms.ReplicaKey,
          `the ${replica.regionName} replica is encrypted with that region’s replica key, which must exist first.`,
          inRegion,
        );
      }
      if (r.isType(aws.lambda.Alias))
        order(r, aws.lambda.Function, 'an alias points at a published version of its function.');
      if (r.isType(aws.lambda.EventSourceMapping)) {
        const readsStreams = (d: PolicyResource) =>
          statements(d.asType(aws.iam.RolePolicy)?.policy).some((st) =>
            asArray(st.Action).includes('dynamodb:GetRecords'),
          );
        order(
          r,
          aws.iam.RolePolicy,
          'Lambda checks at creation that the function’s role may read the stream.',
          readsStreams,
        );
      }
      if (r.isType(aws.acm.CertificateValidation))
        order(r, aws.route53.Record, 'ACM validates through the DNS records, which must exist first.');
    }
  },
};

export const noPublicLambdaUrl: ResourceValidationPolicy = {
  name: 'no-public-lambda-url',
  description: 'No function is reachable through a public function URL or a permission open to everyone.',
  enforcementLevel: 'mandatory',
  validateResource: [
    validateResourceOfType(aws.lambda.FunctionUrl, (url, args, report) => {
      if (url.authorizationType === 'NONE')
        report(`Function URL ${args.name} is public; remove it (the API goes through API Gateway and WAF).`);
    }),
    validateResourceOfType(aws.lambda.Permission, (permission, args, report) => {
      if (permission.principal === '*')
        report(`Permission ${args.name} lets anyone invoke a function; name the calling service.`);
    }),
  ],
};

/** The Serenya zone policies, in the order they report. */
export const zonePolicies: Policies = [
  regionAllowList,
  globalTableReplicasInZone,
  kmsEncryptionAtRest,
  tlsOnlyBucketPolicy,
  blockPublicAccess,
  tempBucketExpiry,
  logRetention,
  pitrInProduction,
  bedrockInZone,
  awsCreationOrder,
  noPublicLambdaUrl,
];
