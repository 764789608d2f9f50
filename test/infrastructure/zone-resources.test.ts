import { runSimulation } from '@cloud-copilot/iam-simulate';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { StackConfigError } from '../../components/stack-config';
import { mockAccount, snapshotStack, type ResourceRecord, type StackSnapshot } from '../../policy/stack-snapshot';
import { asArray } from '../../policy/policies';
import { stackYamlConfig, stacks } from '../../policy/stack-yaml';
import { ofType, stubCode, zoneSnapshot } from '../support/stack-queries';

const one = (s: StackSnapshot, type: string, name: string) => {
  const found = s.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
const buckets = (s: StackSnapshot) => ofType(s, 'aws:s3/bucket:Bucket');
/** The sub-resources that configure a bucket, found by the bucket id they name. */
const configuring = (s: StackSnapshot, bucket: ResourceRecord, type: string) =>
  ofType(s, type).filter((r) => r.inputs.bucket === bucket.state.id);

describe.each(stacks)('stack %s', (stack) => {
  let s: StackSnapshot;
  beforeAll(async () => {
    s = await zoneSnapshot(stack);
  });

  it('creates every cloud resource through a provider pinned to one of the zone’s allowed regions', () => {
    const cloud = s.resources.filter((r) => r.custom);
    expect(cloud.length).toBeGreaterThan(50);
    for (const r of cloud) {
      expect(r.providerName, `${r.type} ${r.name} has no explicit provider`).toBeDefined();
      expect(s.config.allowedRegions, `${r.type} ${r.name} is in ${r.region}`).toContain(r.region);
    }
    // And the stack file makes an unpinned resource an error rather than a default-region one.
    expect(JSON.parse(stackYamlConfig(stack)['pulumi:disable-default-providers']!)).toContain('aws');
    const providerRegions = ofType(s, 'pulumi:providers:aws')
      .map((p) => p.inputs.region)
      .sort();
    expect(providerRegions).toEqual([s.config.homeRegion, ...s.config.replicaRegions].sort());
  });

  it('replicates the users table exactly to the configured replica regions, each with its own region’s key', () => {
    const [table] = ofType(s, 'aws:dynamodb/table:Table');
    const replicas = table!.inputs.replicas ?? [];
    expect(replicas.map((r: { regionName: string }) => r.regionName)).toEqual(s.config.replicaRegions);
    for (const replica of replicas) {
      expect(replica.kmsKeyArn).toContain(`:kms:${replica.regionName}:`);
      expect(replica.pointInTimeRecovery).toBe(s.config.pointInTimeRecovery);
    }
    expect(table!.inputs).toMatchObject({
      hashKey: 'PK',
      rangeKey: 'SK',
      billingMode: 'PAY_PER_REQUEST',
      streamEnabled: true,
      streamViewType: 'NEW_AND_OLD_IMAGES',
      ttl: { attributeName: 'ttl', enabled: true },
      serverSideEncryption: { enabled: true, kmsKeyArn: expect.stringContaining(`:kms:${s.config.homeRegion}:`) },
      pointInTimeRecovery: { enabled: s.config.pointInTimeRecovery },
      deletionProtectionEnabled: s.config.deletionProtection,
    });
    expect(table!.inputs.globalSecondaryIndexes.map((i: { name: string }) => i.name)).toEqual(['GSI1', 'GSI2']);
  });

  it('encrypts every bucket with KMS, blocks all public access and refuses anything but TLS', () => {
    expect(buckets(s)).toHaveLength(2);
    for (const bucket of buckets(s)) {
      const [sse] = configuring(
        s,
        bucket,
        'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
      );
      expect(sse!.inputs.rules[0]).toMatchObject({
        applyServerSideEncryptionByDefault: {
          sseAlgorithm: 'aws:kms',
          kmsMasterKeyId: expect.stringContaining(':kms:'),
        },
        bucketKeyEnabled: true,
      });
      const [bpa] = configuring(s, bucket, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock');
      expect(bpa!.inputs).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const [policy] = configuring(s, bucket, 'aws:s3/bucketPolicy:BucketPolicy');
      const deny = json(policy!.inputs.policy).Statement.find(
        (st: any) => st.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      );
      expect(deny).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 's3:*' });
      // Only the temp bucket may be emptied by a destroy, and only outside production.
      const isTemp = bucket.inputs.tags['data-classification'] === 'phi-transient';
      expect(bucket.inputs.forceDestroy).toBe(isTemp && !s.config.production);
    }
  });

  it('expires the temp bucket within a day and keeps it unversioned; keeps audit events seven years', () => {
    const temp = buckets(s).find((b) => b.inputs.tags['data-classification'] === 'phi-transient')!;
    const [tempLifecycle] = configuring(s, temp, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration');
    const rules = tempLifecycle!.inputs.rules;
    expect(rules.find((r: any) => r.expiration)).toMatchObject({
      status: 'Enabled',
      filter: { prefix: 'jobs/' },
      expiration: { days: 1 },
    });
    expect(
      rules.find((r: any) => r.abortIncompleteMultipartUpload).abortIncompleteMultipartUpload.daysAfterInitiation,
    ).toBeLessThanOrEqual(1);
    expect(configuring(s, temp, 'aws:s3/bucketVersioning:BucketVersioning')).toEqual([]);

    const audit = buckets(s).find((b) => b.inputs.tags['data-classification'] === 'audit')!;
    const [auditLifecycle] = configuring(s, audit, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration');
    expect(auditLifecycle!.inputs.rules[0]).toMatchObject({
      transitions: [
        { days: 90, storageClass: 'STANDARD_IA' },
        { days: 365, storageClass: 'GLACIER' },
      ],
      expiration: { days: 2557 },
    });
    expect(
      configuring(s, audit, 'aws:s3/bucketVersioning:BucketVersioning')[0]!.inputs.versioningConfiguration.status,
    ).toBe('Enabled');
  });

  it('grants exact actions: no "*" action, and a "*" resource only where AWS offers nothing narrower', () => {
    const onlyStarResource = new Set(['dynamodb:ListStreams']);
    const policies = ofType(s, 'aws:iam/rolePolicy:RolePolicy');
    expect(policies.length).toBeGreaterThanOrEqual(3);
    for (const policy of policies) {
      for (const st of json(policy.inputs.policy).Statement) {
        for (const action of asArray(st.Action)) expect(action, policy.name).not.toMatch(/^\*$|:\*$/);
        if (asArray(st.Resource).includes('*'))
          for (const action of asArray(st.Action))
            expect(onlyStarResource, `${policy.name}: ${action} on *`).toContain(action);
      }
    }
    for (const key of ofType(s, 'aws:kms/key:Key')) {
      for (const st of json(key.inputs.policy).Statement)
        for (const action of asArray(st.Action)) expect(action).not.toMatch(/^\*$|^kms:\*$/);
    }
  });

  it('lets the worker invoke only this zone’s model, in the zone’s regions, never a global profile', () => {
    const worker = one(s, 'aws:iam/rolePolicy:RolePolicy', 'serenya-functions-worker-policy');
    const bedrock = json(worker.inputs.policy).Statement.find((st: any) =>
      asArray(st.Action).includes('bedrock:InvokeModel'),
    );
    const arns: string[] = asArray(bedrock.Resource);
    expect(arns.length).toBeGreaterThan(0);
    for (const arn of arns) {
      const region = arn.split(':')[3]!;
      expect(s.config.allowedRegions).toContain(region);
      expect(arn).not.toContain('global.');
    }
    expect(arns[0]).toContain(`inference-profile/${s.config.bedrock.modelId}`);
    for (const fn of ['api', 'stream']) {
      const statements = json(
        one(s, 'aws:iam/rolePolicy:RolePolicy', `serenya-functions-${fn}-policy`).inputs.policy,
      ).Statement;
      expect(statements.flatMap((st: any) => asArray(st.Action)).some((a: string) => a.startsWith('bedrock:'))).toBe(
        false,
      );
    }
  });

  it('runs the one bundle on Node 24, arm64, traced, with names and ARNs (never secrets) in the environment', () => {
    const functions = ofType(s, 'aws:lambda/function:Function');
    expect(functions.map((f) => f.inputs.name).sort()).toEqual([
      `serenya-${stack}-api`,
      `serenya-${stack}-chat`,
      `serenya-${stack}-stream`,
      `serenya-${stack}-worker`,
    ]);
    for (const fn of functions) {
      // The chat function runs the bundle's streaming export (Lambda response streaming).
      const handler = fn.inputs.name.endsWith('-chat') ? 'index.streamHandler' : 'index.handler';
      expect(fn.inputs).toMatchObject({
        runtime: 'nodejs24.x',
        architectures: ['arm64'],
        handler,
        tracingConfig: { mode: 'PassThrough' },
      });
      const env = fn.inputs.environment.variables as Record<string, string>;
      expect(env.SERENYA_ZONE).toBe(s.config.zone);
      for (const [name, value] of Object.entries(env)) {
        // An ARN names a secret; anything else must not be one.
        if (!value.startsWith('arn:')) expect(value, name).not.toMatch(/BEGIN|PRIVATE|secret|password/i);
        if (name.endsWith('_ARN'))
          expect(value, name).toMatch(new RegExp(`^arn:aws:(kms|secretsmanager):${s.config.homeRegion}:`));
      }
    }
  });

  it('sets retention on every log group', () => {
    const groups = ofType(s, 'aws:cloudwatch/logGroup:LogGroup');
    // One per function, the stage's access logs and WAF's log.
    expect(groups.length).toBe(ofType(s, 'aws:lambda/function:Function').length + 2);
    for (const g of groups) expect(g.inputs.retentionInDays).toBe(s.config.logRetentionDays);
  });

  it('associates the WAF web ACL with the stage and logs no bodies', () => {
    const [association] = ofType(s, 'aws:wafv2/webAclAssociation:WebAclAssociation');
    const [stage] = ofType(s, 'aws:apigateway/stage:Stage');
    const [acl] = ofType(s, 'aws:wafv2/webAcl:WebAcl');
    expect(association!.inputs).toEqual({ resourceArn: stage!.state.arn, webAclArn: acl!.state.arn });
    expect(acl!.inputs.rules.map((r: any) => r.name)).toEqual([
      'AWSManagedRulesCommonRuleSet',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'rate-per-ip',
      'rate-per-token',
    ]);
    expect(stage!.inputs.accessLogSettings.format).not.toMatch(/body|\$context\.path|sourceIp/i);
    const [settings] = ofType(s, 'aws:apigateway/methodSettings:MethodSettings');
    expect(settings!.inputs.settings).toMatchObject({
      dataTraceEnabled: false,
      loggingLevel: 'OFF',
      throttlingRateLimit: s.config.throttling.rateLimit,
    });
  });

  it('publishes the geolocation records the zone is configured for, one location each, failing closed', () => {
    const geo = ofType(s, 'aws:route53/record:Record').filter((r) => r.inputs.geolocationRoutingPolicies);
    const expected = [
      ...(s.config.geoDns?.continents ?? []).map((continent) => ({ continent })),
      ...(s.config.geoDns?.countries ?? []).map((country) => ({ country })),
      ...(s.config.geoDns?.answersDefault ? [{ country: '*' }] : []),
    ];
    expect(geo.map((r) => r.inputs.geolocationRoutingPolicies)).toEqual(expected.map((p) => [p]));
    for (const r of geo) {
      expect(r.inputs.name).toBe(s.config.domain!.globalName);
      expect(r.inputs.setIdentifier).toMatch(new RegExp(`^${s.config.zone}-`));
      // A health check (or target health) would let an unhealthy zone fall through to another zone's default record.
      expect(r.inputs.healthCheckId).toBeUndefined();
      expect(r.inputs.aliases.map((a: any) => a.evaluateTargetHealth)).toEqual([false]);
    }
    expect(ofType(s, 'aws:route53/healthCheck:HealthCheck')).toEqual([]);
    expect(new Set(geo.map((r) => r.inputs.setIdentifier)).size).toBe(geo.length);
  });

  it('tags every taggable resource with its data classification', () => {
    const taggable = s.resources.filter((r) => r.custom && r.inputs.tags);
    expect(taggable.length).toBeGreaterThan(20);
    for (const r of taggable)
      expect(['phi-transient', 'pii', 'audit', 'none'], `${r.type} ${r.name}`).toContain(
        r.inputs.tags['data-classification'],
      );
  });

  it('keeps the audit stream moving: failing batches bisected, the records given up on queued in-zone and alarmed, the iterator’s age alarmed', () => {
    const [mapping] = ofType(s, 'aws:lambda/eventSourceMapping:EventSourceMapping');
    expect(mapping!.inputs).toMatchObject({
      bisectBatchOnFunctionError: true,
      functionResponseTypes: ['ReportBatchItemFailures'],
      maximumRetryAttempts: 10,
    });
    const queue = ofType(s, 'aws:sqs/queue:Queue').find(
      (q) => q.state.arn === mapping!.inputs.destinationConfig.onFailure.destinationArn,
    );
    expect(queue?.inputs.sqsManagedSseEnabled ?? queue?.inputs.kmsMasterKeyId).toBeTruthy();
    expect(s.config.allowedRegions).toContain(queue!.region);
    const alarms = ofType(s, 'aws:cloudwatch/metricAlarm:MetricAlarm');
    const alarmOn = (metricName: string) => alarms.find((a) => a.inputs.metricName === metricName);
    expect(alarmOn('ApproximateNumberOfMessagesVisible')?.inputs).toMatchObject({
      namespace: 'AWS/SQS',
      dimensions: { QueueName: queue!.state.name },
      threshold: 0,
    });
    expect(alarmOn('IteratorAge')?.inputs).toMatchObject({
      namespace: 'AWS/Lambda',
      statistic: 'Maximum',
      dimensions: { FunctionName: `serenya-${stack}-stream` },
    });
    const overdue = alarmOn('AppleRevocationOldestAgeSeconds')?.inputs;
    expect(overdue).toMatchObject({ namespace: 'Serenya', statistic: 'Maximum', threshold: 3600 });
    // Where the zone keeps Apple tokens, a sweep that stops reporting alarms too.
    expect(overdue?.treatMissingData).toBe(s.config.identity.appleSignInSecretArn ? 'breaching' : 'notBreaching');
  });

  it('limits each client by its bearer token as well as each IP, and logs WAF’s decisions in the zone without the token', () => {
    const [acl] = ofType(s, 'aws:wafv2/webAcl:WebAcl');
    const rule = (name: string) => acl!.inputs.rules.find((r: any) => r.name === name);
    expect(rule('rate-per-ip').statement.rateBasedStatement).toMatchObject({
      aggregateKeyType: 'IP',
      limit: s.config.throttling.wafRequestsPer5MinPerIp,
    });
    expect(rule('rate-per-token')).toMatchObject({ action: { block: {} } });
    expect(rule('rate-per-token').statement.rateBasedStatement).toMatchObject({
      aggregateKeyType: 'CUSTOM_KEYS',
      limit: s.config.throttling.wafRequestsPer5MinPerToken,
      customKeys: [{ header: { name: 'authorization' } }],
    });
    const [logging] = ofType(s, 'aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration');
    expect(logging!.inputs.resourceArn).toBe(acl!.state.arn);
    expect(logging!.inputs.redactedFields).toEqual([{ singleHeader: { name: 'authorization' } }]);
    const group = ofType(s, 'aws:cloudwatch/logGroup:LogGroup').find((g) =>
      logging!.inputs.logDestinationConfigs.includes(g.state.arn),
    );
    // WAF delivers only to a log group whose name starts so; it holds addresses, so it is kept like other PII logs.
    expect(group!.inputs.namePrefix).toMatch(/^aws-waf-logs-/);
    expect(group!.inputs.retentionInDays).toBe(s.config.logRetentionDays);
    expect(s.config.allowedRegions).toContain(group!.region);
  });

  it('trusts each service role only for this account’s own resources (no confused deputy)', () => {
    const serviceRoles = ofType(s, 'aws:iam/role:Role')
      .map((r) => ({ name: r.name, trust: json(r.inputs.assumeRolePolicy).Statement }))
      .filter((r) => r.trust.some((st: any) => st.Principal.Service !== 'lambda.amazonaws.com'));
    expect(serviceRoles.map((r) => r.trust[0].Principal.Service).sort()).toEqual(
      [...(s.config.managesApiGatewayAccount ? ['apigateway.amazonaws.com'] : []), 'codedeploy.amazonaws.com'].sort(),
    );
    for (const { name, trust } of serviceRoles) {
      for (const st of trust) {
        expect(st.Condition?.StringEquals?.['aws:SourceAccount'], name).toBe(mockAccount);
        expect(st.Condition?.ArnLike?.['aws:SourceArn'], name).toMatch(
          new RegExp(`^arn:aws:(codedeploy|apigateway):${s.config.homeRegion}:(${mockAccount})?:`),
        );
      }
    }
  });

  it('keeps every audit event undeletable for seven years: Object Lock, compliance mode in production', () => {
    const audit = buckets(s).find((b) => b.inputs.tags['data-classification'] === 'audit')!;
    expect(audit.inputs.objectLockEnabled).toBe(true);
    const [lock] = configuring(s, audit, 'aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration');
    expect(lock!.inputs.rule.defaultRetention).toEqual({
      mode: s.config.production ? 'COMPLIANCE' : 'GOVERNANCE',
      days: 2557,
    });
    const [versioning] = configuring(s, audit, 'aws:s3/bucketVersioning:BucketVersioning');
    expect(versioning!.inputs.versioningConfiguration.status).toBe('Enabled');
  });

  it('runs the sweeps on EventBridge’s schedule through the API function’s live alias, and alarms when deletions stay unfinished', () => {
    const [rule] = ofType(s, 'aws:cloudwatch/eventRule:EventRule');
    expect(rule!.inputs.scheduleExpression).toMatch(/^rate\(\d+ minutes?\)$/);
    const [target] = ofType(s, 'aws:cloudwatch/eventTarget:EventTarget');
    expect(target!.inputs).toMatchObject({
      rule: rule!.state.name,
      arn: expect.stringMatching(new RegExp(`:function:serenya-${stack}-api:live$`)),
    });
    const permission = ofType(s, 'aws:lambda/permission:Permission').find(
      (p) => p.inputs.principal === 'events.amazonaws.com',
    );
    expect(permission!.inputs).toMatchObject({
      sourceArn: rule!.state.arn,
      qualifier: 'live',
      function: `serenya-${stack}-api`,
    });
    const alarms = ofType(s, 'aws:cloudwatch/metricAlarm:MetricAlarm');
    const alarmOn = (metricName: string) => alarms.find((a) => a.inputs.metricName === metricName)?.inputs;
    // The sweep reports on every run (0 when nothing waits): silence means the schedule stopped.
    expect(alarmOn('PendingDeletionAgeSeconds')).toMatchObject({
      namespace: 'Serenya',
      dimensions: { service: 'serenya' },
      statistic: 'Maximum',
      threshold: 6 * 3600,
      treatMissingData: 'breaching',
    });
    expect(alarmOn('DeletionFailures')).toMatchObject({
      namespace: 'Serenya',
      dimensions: { service: 'serenya' },
      statistic: 'Sum',
      threshold: 0,
    });
  });

  it("warns when an App Store notification could not be handed on to its account's zone, on any in an hour", () => {
    const alarm = ofType(s, 'aws:cloudwatch/metricAlarm:MetricAlarm').find(
      (a) => a.inputs.metricName === 'StoreNotificationsNotHandedOn',
    );
    const warning = ofType(s, 'aws:sns/topic:Topic').find((t) => t.name.endsWith('-warning'));
    expect(alarm?.inputs).toMatchObject({
      namespace: 'Serenya',
      dimensions: { service: 'serenya' },
      statistic: 'Sum',
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      period: 3600,
      evaluationPeriods: 1,
      alarmActions: [warning!.state.arn],
    });
  });

  it('answers reviewers with the zone, its regions and its keys', () => {
    expect(s.outputs).toMatchObject({
      zone: s.config.zone,
      region: s.config.homeRegion,
      allowedRegions: s.config.allowedRegions,
      usersTableReplicaRegions: s.config.replicaRegions,
      modelId: s.config.bedrock.modelId,
    });
  });
});

describe('production stacks', () => {
  it.each(['prod-eu', 'prod-us'] as const)(
    '%s keeps point-in-time recovery and deletion protection on',
    async (stack) => {
      const s = await zoneSnapshot(stack);
      const [table] = ofType(s, 'aws:dynamodb/table:Table');
      expect(table!.inputs.pointInTimeRecovery.enabled).toBe(true);
      expect(table!.inputs.deletionProtectionEnabled).toBe(true);
      // Each replica is a whole copy of every user: as protected as the table.
      expect(table!.inputs.replicas.length).toBeGreaterThan(0);
      for (const replica of table!.inputs.replicas)
        expect(replica).toMatchObject({ deletionProtectionEnabled: true, pointInTimeRecovery: true });
    },
  );
});

describe('the data keys of a global table', () => {
  /** What KMS decides for the deploying administrator's call through `viaService` (IAM allows it all). */
  const decide = async (key: ResourceRecord, action: string, context: Record<string, string>) => {
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:iam::${mockAccount}:role/deployer`,
          action,
          resource: { resource: key.state.arn, accountId: mockAccount },
          contextVariables: { 'aws:SecureTransport': 'true', ...context },
        },
        identityPolicies: [
          {
            name: 'admin',
            policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: JSON.parse(key.inputs.policy),
      },
      {},
    );
    return result.resultType === 'error' ? `error: ${JSON.stringify(result.errors)}` : result.overallResult;
  };
  const via = (service: string, region: string, account = mockAccount) => ({
    'kms:ViaService': `${service}.${region}.amazonaws.com`,
    'kms:CallerAccount': account,
  });

  it.each(['prod-eu', 'prod-us'] as const)(
    '%s: DynamoDB may use each from any of the table’s regions, nothing else may',
    async (stack) => {
      const s = await zoneSnapshot(stack);
      const { homeRegion, replicaRegions } = s.config;
      const primary = one(s, 'aws:kms/key:Key', 'serenya-keys-data');
      const replicas = ofType(s, 'aws:kms/replicaKey:ReplicaKey');
      expect(replicas.map((r) => r.region)).toEqual(replicaRegions);
      for (const replica of replicas) {
        // DynamoDB in the home region creates the replica and its grant on the replica key.
        for (const action of ['kms:CreateGrant', 'kms:DescribeKey', 'kms:GenerateDataKey', 'kms:Decrypt']) {
          // KMS marks the grant DynamoDB creates for the table it encrypts.
          const grant: Record<string, string> =
            action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {};
          expect(
            await decide(replica, action, { ...via('dynamodb', homeRegion), ...grant }),
            `${action} on ${replica.region}`,
          ).toBe('Allowed');
          expect(
            await decide(primary, action, { ...via('dynamodb', replica.region!), ...grant }),
            `${action} on the primary from ${replica.region}`,
          ).toBe('Allowed');
        }
        // A grant for anything but an AWS service's resource is not DynamoDB's.
        expect(await decide(replica, 'kms:CreateGrant', via('dynamodb', homeRegion))).toBe('ImplicitlyDenied');
      }
      // Still bounded: S3 only in the key's region, never another account, never directly.
      expect(await decide(primary, 'kms:Decrypt', via('s3', homeRegion))).toBe('Allowed');
      expect(await decide(primary, 'kms:Decrypt', via('s3', replicaRegions[0]!))).toBe('ImplicitlyDenied');
      expect(await decide(replicas[0]!, 'kms:Decrypt', via('dynamodb', homeRegion, '444455556666'))).toBe(
        'ImplicitlyDenied',
      );
      expect(await decide(replicas[0]!, 'kms:Decrypt', { 'kms:CallerAccount': mockAccount })).toBe('ImplicitlyDenied');
    },
  );
});

describe('configurations that would leave the zone are refused before any resource exists', () => {
  const refused = async (stack: 'prod-eu' | 'prod-us', change: Record<string, string>, ...expected: string[]) => {
    const error = await snapshotStack(stack, { code: stubCode, changeConfig: (c) => ({ ...c, ...change }) }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(StackConfigError);
    for (const text of expected) expect(error.message).toContain(text);
  };

  it('an out-of-zone replica', () =>
    refused(
      'prod-eu',
      { 'serenya:replicaRegions': '["us-east-1"]' },
      'serenya:replicaRegions',
      'us-east-1 is outside',
    ));

  it('a global inference profile', () =>
    refused(
      'prod-eu',
      {
        'serenya:bedrock': JSON.stringify({
          modelId: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
          inferenceRegions: ['eu-west-1'],
          usdPerMillionInputTokens: 1,
          usdPerMillionOutputTokens: 5,
        }),
      },
      'serenya:bedrock',
      'global inference profile',
    ));

  it('another geography’s inference profile', () =>
    refused(
      'prod-us',
      {
        'serenya:bedrock': JSON.stringify({
          modelId: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
          inferenceRegions: ['us-east-1'],
          usdPerMillionInputTokens: 1,
          usdPerMillionOutputTokens: 5,
        }),
      },
      'a zone homed in us-east-1 may use only us.',
    ));

  it('a home region outside the allow-list', () =>
    refused('prod-us', { 'serenya:homeRegion': 'eu-west-1' }, 'serenya:homeRegion', 'eu-west-1 is outside'));

  it('a production stack without point-in-time recovery', () =>
    refused('prod-eu', { 'serenya:pointInTimeRecovery': 'false' }, 'serenya:pointInTimeRecovery: must be true'));
});

describe('network isolation', () => {
  // The functions need Google's and Apple's key sets and the Play Developer API, which a VPC without
  // NAT cannot reach; a switch that deploys a broken network is worse than none (docs/decisions/0001).
  it('is not an option: a stack that asks for it is refused', async () => {
    const error = await snapshotStack('prod-eu', {
      code: stubCode,
      changeConfig: (c) => ({ ...c, 'serenya:networkIsolation': 'true' }),
    }).catch((e) => e);
    expect(error).toBeInstanceOf(StackConfigError);
    expect(error.message).toContain('networkIsolation');
  });
});

describe('the Lambda code', () => {
  it('is the esbuild bundle of handlers/edge/lambda.ts, built by the program itself', async () => {
    const s = await snapshotStack('dev');
    const [api] = ofType(s, 'aws:lambda/function:Function');
    const code = await new Promise<any>((resolve) => pulumi.output(api!.inputs.code).apply(resolve));
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${await code.path}/index.mjs`)).toBe(true);
  }, 60_000);
});
