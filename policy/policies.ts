import type { PolicyResource, ReportViolation, StackValidationPolicy } from '@pulumi/policy';
import type { StackConfig } from '../components/stack-config';

/**
 * The zone rules the policies enforce, taken from the stack's own `Pulumi.<stack>.yaml` (see
 * `index.ts`); the policies check the resources, not the program that declared them.
 */
export type ZoneRules = Pick<StackConfig, 'zone' | 'allowedRegions' | 'replicaRegions' | 'production'> &
  Partial<Pick<StackConfig, 'managesApiGatewayAccount'>>;

const T = {
  bucket: 'aws:s3/bucket:Bucket',
  encryption: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  publicAccess: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  lifecycle: 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  table: 'aws:dynamodb/table:Table',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  policy: 'aws:iam/policy:Policy',
  functionUrl: 'aws:lambda/functionUrl:FunctionUrl',
  permission: 'aws:lambda/permission:Permission',
  provider: 'pulumi:providers:aws',
  stage: 'aws:apigateway/stage:Stage',
  apiAccount: 'aws:apigateway/account:Account',
  notification: 'aws:s3/bucketNotification:BucketNotification',
  replicaKey: 'aws:kms/replicaKey:ReplicaKey',
  alias: 'aws:lambda/alias:Alias',
  lambda: 'aws:lambda/function:Function',
  eventSourceMapping: 'aws:lambda/eventSourceMapping:EventSourceMapping',
  certificateValidation: 'aws:acm/certificateValidation:CertificateValidation',
  record: 'aws:route53/record:Record',
};

/** Everything a resource waits for, directly or through what it waits for. */
function waitsFor(resource: PolicyResource): Set<PolicyResource> {
  const seen = new Set<PolicyResource>();
  const visit = (r: PolicyResource) => {
    for (const d of r.dependencies ?? []) if (!seen.has(d)) (seen.add(d), visit(d));
  };
  visit(resource);
  return seen;
}
const waitsForOne = (r: PolicyResource, type: string, match: (d: PolicyResource) => boolean = () => true) =>
  [...waitsFor(r)].some((d) => d.type === type && match(d));

const asArray = <X>(v: X | X[] | undefined): X[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const parsed = (v: unknown) => {
  if (typeof v !== 'string') return v as Record<string, any> | undefined;
  try {
    return JSON.parse(v) as Record<string, any>;
  } catch {
    return undefined;
  }
};
/** `urn:pulumi:<stack>::<project>::<type>::<name>` → the stack. */
export const stackOf = (urn: string) => urn.split('::')[0]?.split(':').pop() ?? '';

/** The bucket a configuration resource applies to: by dependency when the engine gives one, else by name. */
function bucketConfigs(resources: PolicyResource[], bucket: PolicyResource, type: string) {
  return resources.filter(
    (r) => r.type === type && ((r.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn) || (r.props.bucket !== undefined && r.props.bucket === bucket.props.bucket)),
  );
}

type Check = (resources: PolicyResource[], rules: ZoneRules, report: ReportViolation) => void;

function zonePolicy(name: string, description: string, check: Check, rulesFor: (stack: string) => ZoneRules): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: 'mandatory',
    validateStack: (args, report) => {
      const urn = args.resources[0]?.urn;
      if (!urn) return;
      check(args.resources, rulesFor(stackOf(urn)), report);
    },
  };
}

const checks: Array<[string, string, Check]> = [
  [
    'region-allow-list',
    'Every AWS resource is created in one of the zone’s allowed regions, through an explicit provider.',
    (resources, rules, report) => {
      for (const r of resources) {
        if (r.type === T.provider) {
          if (!rules.allowedRegions.includes(r.props.region)) report(`Provider ${r.name} targets ${r.props.region}, outside zone ${rules.zone}'s allowed regions (${rules.allowedRegions.join(', ')}).`, r.urn);
          continue;
        }
        if (!r.type.startsWith('aws:')) continue;
        const region = r.props.region ?? r.provider?.props.region;
        if (!region) report(`${r.type} ${r.name} has no region; give it a provider pinned to one of ${rules.allowedRegions.join(', ')}.`, r.urn);
        else if (!rules.allowedRegions.includes(region)) report(`${r.type} ${r.name} is in ${region}, outside zone ${rules.zone}'s allowed regions (${rules.allowedRegions.join(', ')}).`, r.urn);
      }
    },
  ],
  [
    'global-table-replicas-in-zone',
    'DynamoDB replicas are exactly the zone’s configured replica regions.',
    (resources, rules, report) => {
      for (const table of resources.filter((r) => r.type === T.table)) {
        const regions = asArray<{ regionName: string }>(table.props.replicas).map((r) => r.regionName);
        for (const region of regions) {
          if (!rules.allowedRegions.includes(region)) report(`Table ${table.name} replicates to ${region}, outside zone ${rules.zone}.`, table.urn);
        }
        if ([...regions].sort().join() !== [...rules.replicaRegions].sort().join()) {
          report(`Table ${table.name} replicates to [${regions.join(', ')}] but the zone declares [${rules.replicaRegions.join(', ')}].`, table.urn);
        }
      }
    },
  ],
  [
    'kms-encryption-at-rest',
    'Buckets and tables are encrypted with a customer-managed KMS key.',
    (resources, _rules, report) => {
      for (const bucket of resources.filter((r) => r.type === T.bucket)) {
        const kms = bucketConfigs(resources, bucket, T.encryption).some((c) =>
          asArray<any>(c.props.rules).some((rule) => rule.applyServerSideEncryptionByDefault?.sseAlgorithm === 'aws:kms' && rule.applyServerSideEncryptionByDefault?.kmsMasterKeyId),
        );
        if (!kms) report(`Bucket ${bucket.name} has no SSE-KMS default encryption; add a BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and the zone's data key.`, bucket.urn);
      }
      for (const table of resources.filter((r) => r.type === T.table)) {
        if (!table.props.serverSideEncryption?.enabled || !table.props.serverSideEncryption?.kmsKeyArn) {
          report(`Table ${table.name} is not encrypted with the zone's KMS key; set serverSideEncryption { enabled, kmsKeyArn }.`, table.urn);
        }
      }
    },
  ],
  [
    'tls-only-bucket-policy',
    'Every bucket refuses requests that do not use TLS.',
    (resources, _rules, report) => {
      for (const bucket of resources.filter((r) => r.type === T.bucket)) {
        const tlsOnly = bucketConfigs(resources, bucket, T.bucketPolicy).some((p) =>
          asArray<any>(parsed(p.props.policy)?.Statement).some((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
        );
        if (!tlsOnly) report(`Bucket ${bucket.name} accepts plain HTTP; add a bucket policy denying aws:SecureTransport = false.`, bucket.urn);
      }
    },
  ],
  [
    'block-public-access',
    'Every bucket blocks all four kinds of public access.',
    (resources, _rules, report) => {
      for (const bucket of resources.filter((r) => r.type === T.bucket)) {
        const blocked = bucketConfigs(resources, bucket, T.publicAccess).some(
          (b) => b.props.blockPublicAcls && b.props.blockPublicPolicy && b.props.ignorePublicAcls && b.props.restrictPublicBuckets,
        );
        if (!blocked) report(`Bucket ${bucket.name} does not block public access; add a BucketPublicAccessBlock with all four settings true.`, bucket.urn);
      }
    },
  ],
  [
    'temp-bucket-expiry',
    'Buckets that hold PHI in transit expire their objects within a day.',
    (resources, _rules, report) => {
      for (const bucket of resources.filter((r) => r.type === T.bucket && r.props.tags?.['data-classification'] === 'phi-transient')) {
        const expires = bucketConfigs(resources, bucket, T.lifecycle).some((l) =>
          asArray<any>(l.props.rules).some((rule) => rule.status === 'Enabled' && rule.expiration?.days !== undefined && rule.expiration.days <= 1),
        );
        if (!expires) report(`Bucket ${bucket.name} holds PHI but keeps objects longer than a day; add a lifecycle rule expiring them after 1 day.`, bucket.urn);
      }
    },
  ],
  [
    'log-retention',
    'Every log group has a retention period.',
    (resources, _rules, report) => {
      for (const group of resources.filter((r) => r.type === T.logGroup)) {
        if (!group.props.retentionInDays) report(`Log group ${group.name} keeps logs forever; set retentionInDays.`, group.urn);
      }
    },
  ],
  [
    'pitr-in-production',
    'Production tables have point-in-time recovery on.',
    (resources, rules, report) => {
      if (!rules.production) return;
      for (const table of resources.filter((r) => r.type === T.table)) {
        if (!table.props.pointInTimeRecovery?.enabled) report(`Table ${table.name} has no point-in-time recovery in production; enable it.`, table.urn);
      }
    },
  ],
  [
    'bedrock-in-zone',
    'IAM grants Bedrock only on in-zone models and this zone’s geographic profile, never a global one.',
    (resources, rules, report) => {
      for (const p of resources.filter((r) => r.type === T.rolePolicy || r.type === T.policy)) {
        for (const st of asArray<any>(parsed(p.props.policy)?.Statement)) {
          if (!asArray<string>(st.Action).some((a) => a.startsWith('bedrock:'))) continue;
          for (const arn of asArray<string>(st.Resource)) {
            const region = arn.split(':')[3] ?? '';
            if (arn === '*' || arn.includes('/global.')) report(`${p.name} grants Bedrock on ${arn}, which may run outside zone ${rules.zone}; grant this zone's geographic profile instead.`, p.urn);
            else if (!rules.allowedRegions.includes(region)) report(`${p.name} grants Bedrock in ${region}, outside zone ${rules.zone}'s allowed regions.`, p.urn);
          }
        }
      }
    },
  ],
  [
    'aws-creation-order',
    'Where AWS refuses a resource before another exists, the stack orders them (mocks accept any order; AWS does not).',
    (resources, rules, report) => {
      const order = (r: PolicyResource, type: string, why: string, match?: (d: PolicyResource) => boolean) => {
        if (!waitsForOne(r, type, match)) report(`${r.type} ${r.name} is not ordered after its ${type.split(':').pop()}: ${why}`, r.urn);
      };
      for (const r of resources) {
        if (r.type === T.stage && r.props.accessLogSettings && rules.managesApiGatewayAccount !== false) {
          order(r, T.apiAccount, 'a stage with access logs is refused until the account’s CloudWatch Logs role is set.');
        }
        if (r.type === T.notification) {
          order(r, T.permission, 'S3 refuses a Lambda notification it may not invoke yet.', (d) => d.props.principal === 's3.amazonaws.com');
        }
        if (r.type === T.table) {
          for (const replica of asArray<{ regionName: string }>(r.props.replicas)) {
            order(r, T.replicaKey, `the ${replica.regionName} replica is encrypted with that region’s replica key, which must exist first.`, (d) => d.provider?.props.region === replica.regionName || d.props.region === replica.regionName);
          }
        }
        if (r.type === T.alias) order(r, T.lambda, 'an alias points at a published version of its function.');
        if (r.type === T.eventSourceMapping) {
          order(r, T.rolePolicy, 'Lambda checks at creation that the function’s role may read the stream.', (d) => JSON.stringify(parsed(d.props.policy) ?? {}).includes('dynamodb:GetRecords'));
        }
        if (r.type === T.certificateValidation) order(r, T.record, 'ACM validates through the DNS records, which must exist first.');
      }
    },
  ],
  [
    'no-public-lambda-url',
    'No function is reachable through a public function URL or a permission open to everyone.',
    (resources, _rules, report) => {
      for (const r of resources) {
        if (r.type === T.functionUrl && r.props.authorizationType === 'NONE') report(`Function URL ${r.name} is public; remove it (the API goes through API Gateway and WAF).`, r.urn);
        if (r.type === T.permission && r.props.principal === '*') report(`Permission ${r.name} lets anyone invoke a function; name the calling service.`, r.urn);
      }
    },
  ],
];

/** The Serenya zone policies, all mandatory. */
export function zonePolicies(rulesFor: (stack: string) => ZoneRules): StackValidationPolicy[] {
  return checks.map(([name, description, check]) => zonePolicy(name, description, check, rulesFor));
}
