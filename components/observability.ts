import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { platformMetrics } from '../contract';
import { functionSizes } from './platform-functions';
import { classified } from './tags';

/**
 * A release rolls back on an error *rate*, judged only on enough traffic: a count would stop a busy
 * zone's release for noise and never stop a quiet zone's broken one.
 */
export const rollbackAlarmRule = { minimumSample: 20, errorRate: 0.05, periodSeconds: 300 } as const;

/** Metric math: `errors / total` over the period, 0 while `total` is under the minimum sample. */
function errorRateQueries(
  namespace: string,
  metrics: { errors: string; total: string },
  dimensions: Record<string, pulumi.Input<string>>,
) {
  const metric = (id: string, metricName: string) => ({
    id,
    returnData: false,
    metric: { namespace, metricName, dimensions, stat: 'Sum', period: rollbackAlarmRule.periodSeconds },
  });
  return {
    metricQueries: [
      metric('errors', metrics.errors),
      metric('total', metrics.total),
      {
        id: 'rate',
        label: `${metrics.errors} / ${metrics.total}`,
        returnData: true,
        expression: `IF(FILL(total, 0) >= ${rollbackAlarmRule.minimumSample}, FILL(errors, 0) / total, 0)`,
      },
    ],
  };
}

export interface ObservabilityArgs {
  /** The zone, in dashboard and alarm names. */
  zone: string;
  region: string;
  /** Where alarms are mailed. */
  alarmEmail: string;
  /** KMS key that encrypts the alarm topics. */
  kmsKeyArn: pulumi.Input<string>;
  functionNames: {
    api: pulumi.Input<string>;
    worker: pulumi.Input<string>;
    stream: pulumi.Input<string>;
    chat: pulumi.Input<string>;
  };
  /** The queue the audit stream's event source mapping sends the records it gives up on to. */
  streamFailureQueueName: pulumi.Input<string>;
  /**
   * The zone holds Sign in with Apple tokens: the revocation sweep must report at least hourly, and
   * its silence alarms too. @default false
   */
  appleSignIn?: boolean;
  restApiName: pulumi.Input<string>;
  webAclName: pulumi.Input<string>;
  stageName: pulumi.Input<string>;
  tableName: pulumi.Input<string>;
  tempBucketName: pulumi.Input<string>;
  modelId: string;
  /** Estimated Bedrock spend per hour that raises an alarm. */
  llmCostAlarmUsdPerHour: number;
}

type Metric = [string, string, ...unknown[]];

/**
 * Seed 002's three dashboards (executive, operations, security) and its alarms, sent to a
 * critical and a warning SNS topic with the zone's alarm e-mail subscribed to both.
 */
export class Observability extends pulumi.ComponentResource {
  public readonly criticalTopic: aws.sns.Topic;
  public readonly warningTopic: aws.sns.Topic;
  public readonly alarms: aws.cloudwatch.MetricAlarm[] = [];
  /** The alarms that roll a release back while it shifts traffic: the API's 5xx and each function's errors. */
  public readonly rollbackAlarms: aws.cloudwatch.MetricAlarm[] = [];
  public readonly dashboards: aws.cloudwatch.Dashboard[];

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:observability:Observability', name, {}, opts);
    this.criticalTopic = this.createTopic(name, 'critical', args);
    this.warningTopic = this.createTopic(name, 'warning', args);
    this.createAlarms(name, args);
    this.dashboards = this.createDashboards(name, args);
    this.registerOutputs({ criticalTopicArn: this.criticalTopic.arn, warningTopicArn: this.warningTopic.arn });
  }

  private createTopic(name: string, severity: string, args: ObservabilityArgs) {
    const topic = new aws.sns.Topic(
      `${name}-${severity}`,
      { kmsMasterKeyId: args.kmsKeyArn, tags: classified('none') },
      { parent: this },
    );
    new aws.sns.TopicSubscription(
      `${name}-${severity}-email`,
      { topic: topic.arn, protocol: 'email', endpoint: args.alarmEmail },
      { parent: this },
    );
    return topic;
  }

  private alarm(
    name: string,
    topic: aws.sns.Topic,
    alarm: Omit<aws.cloudwatch.MetricAlarmArgs, 'alarmActions' | 'okActions'>,
  ) {
    this.alarms.push(
      new aws.cloudwatch.MetricAlarm(
        name,
        {
          treatMissingData: 'notBreaching',
          ...alarm,
          alarmActions: [topic.arn],
          okActions: [topic.arn],
          tags: classified('none'),
        },
        { parent: this },
      ),
    );
  }

  private rollbackAlarm(name: string, topic: aws.sns.Topic, alarm: Parameters<Observability['alarm']>[2]) {
    this.alarm(name, topic, alarm);
    this.rollbackAlarms.push(this.alarms.at(-1)!);
  }

  private createAlarms(name: string, args: ObservabilityArgs) {
    const fiveMinutes = { period: 300, evaluationPeriods: 1 };
    const { minimumSample, errorRate } = rollbackAlarmRule;
    const percent = `${errorRate * 100}%`;
    for (const [fn, functionName] of Object.entries(args.functionNames)) {
      this.rollbackAlarm(`${name}-${fn}-errors`, this.criticalTopic, {
        alarmDescription: `${fn} function: more than ${percent} of at least ${minimumSample} invocations failed in 5 minutes`,
        ...errorRateQueries('AWS/Lambda', { errors: 'Errors', total: 'Invocations' }, { FunctionName: functionName }),
        threshold: errorRate,
        comparisonOperator: 'GreaterThanThreshold',
        evaluationPeriods: 1,
      });
    }
    this.rollbackAlarm(`${name}-api-5xx`, this.criticalTopic, {
      alarmDescription: `API Gateway: more than ${percent} of at least ${minimumSample} requests answered 5xx in 5 minutes`,
      ...errorRateQueries(
        'AWS/ApiGateway',
        { errors: '5XXError', total: 'Count' },
        { ApiName: args.restApiName, Stage: args.stageName },
      ),
      threshold: errorRate,
      comparisonOperator: 'GreaterThanThreshold',
      evaluationPeriods: 1,
    });
    for (const kind of ['Read', 'Write']) {
      this.alarm(`${name}-table-${kind.toLowerCase()}-throttles`, this.criticalTopic, {
        alarmDescription: `Users table: ${kind.toLowerCase()} requests throttled`,
        namespace: 'AWS/DynamoDB',
        metricName: `${kind}ThrottleEvents`,
        dimensions: { TableName: args.tableName },
        statistic: 'Sum',
        threshold: 0,
        comparisonOperator: 'GreaterThanThreshold',
        ...fiveMinutes,
      });
    }
    this.createAuditStreamAlarms(name, args);
    this.createDeletionAlarms(name);
    this.createHandOffAlarm(name);
    this.alarm(`${name}-worker-near-timeout`, this.warningTopic, {
      alarmDescription: 'Worker: slowest run above 80% of its timeout',
      namespace: 'AWS/Lambda',
      metricName: 'Duration',
      dimensions: { FunctionName: args.functionNames.worker },
      statistic: 'Maximum',
      threshold: functionSizes.worker.timeout * 1000 * 0.8,
      comparisonOperator: 'GreaterThanThreshold',
      ...fiveMinutes,
    });
    this.alarm(`${name}-bedrock-errors`, this.criticalTopic, {
      alarmDescription: 'Bedrock: server errors for this zone’s model',
      namespace: 'AWS/Bedrock',
      metricName: 'InvocationServerErrors',
      dimensions: { ModelId: args.modelId },
      statistic: 'Sum',
      threshold: 5,
      comparisonOperator: 'GreaterThanThreshold',
      ...fiveMinutes,
    });
    this.alarm(`${name}-llm-cost`, this.warningTopic, {
      alarmDescription: `Estimated Bedrock spend above ${args.llmCostAlarmUsdPerHour} USD in an hour`,
      namespace: platformMetrics.namespace,
      metricName: platformMetrics.estimatedCost,
      dimensions: { service: 'serenya' },
      statistic: 'Sum',
      threshold: args.llmCostAlarmUsdPerHour,
      comparisonOperator: 'GreaterThanThreshold',
      period: 3600,
      evaluationPeriods: 1,
    });
  }

  /**
   * The audit trail stalls (iterator age) or drops records (the failure queue); a Sign in with Apple
   * token waits too long for its revocation. docs/runbooks.md says what to do for each.
   */
  private createAuditStreamAlarms(name: string, args: ObservabilityArgs) {
    this.alarm(`${name}-stream-failures`, this.criticalTopic, {
      alarmDescription: 'Audit stream: records given up on, in the failure queue (replay them: docs/runbooks.md)',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: args.streamFailureQueueName },
      statistic: 'Maximum',
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      period: 300,
      evaluationPeriods: 1,
    });
    this.alarm(`${name}-stream-iterator-age`, this.criticalTopic, {
      alarmDescription: 'Audit stream: oldest unprocessed record older than 15 minutes (records expire after 24 hours)',
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensions: { FunctionName: args.functionNames.stream },
      statistic: 'Maximum',
      threshold: 15 * 60 * 1000,
      comparisonOperator: 'GreaterThanThreshold',
      period: 300,
      evaluationPeriods: 1,
    });
    this.alarm(`${name}-apple-revocations-overdue`, this.warningTopic, {
      alarmDescription:
        'Sign in with Apple: a token has waited more than an hour for Apple to revoke it (docs/runbooks.md)',
      namespace: platformMetrics.namespace,
      metricName: platformMetrics.appleRevocationOldestAge,
      dimensions: { service: 'serenya' },
      statistic: 'Maximum',
      threshold: 3600,
      comparisonOperator: 'GreaterThanThreshold',
      period: 3600,
      evaluationPeriods: 1,
      treatMissingData: args.appleSignIn ? 'breaching' : 'notBreaching',
    });
  }

  /**
   * Account deletions the sweep cannot finish (docs/runbooks.md). The sweep reports on every run, 0
   * when nothing waits: silence means the schedule stopped, and counts as breaching.
   */
  private createDeletionAlarms(name: string) {
    this.alarm(`${name}-deletions-pending`, this.criticalTopic, {
      alarmDescription:
        'Account deletion: one unfinished for more than 6 hours, or the sweep silent for an hour (docs/runbooks.md)',
      namespace: platformMetrics.namespace,
      metricName: platformMetrics.pendingDeletionAge,
      dimensions: { service: 'serenya' },
      statistic: 'Maximum',
      threshold: 6 * 3600,
      comparisonOperator: 'GreaterThanThreshold',
      period: 3600,
      evaluationPeriods: 1,
      treatMissingData: 'breaching',
    });
    this.alarm(`${name}-deletion-failures`, this.warningTopic, {
      alarmDescription:
        'Account deletion: the sweep failed to finish a deletion in two 15-minute windows running (docs/runbooks.md)',
      namespace: platformMetrics.namespace,
      metricName: platformMetrics.deletionFailures,
      dimensions: { service: 'serenya' },
      statistic: 'Sum',
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      period: 900,
      evaluationPeriods: 2,
    });
  }

  /**
   * App Store notifications this zone could not hand on to the zone that owns their account
   * (503 ZONE_UNAVAILABLE): the store retries, for up to three days, but the owner's plan is stale
   * meanwhile (docs/runbooks.md). Only the zone that holds the App Store URL hands notifications on,
   * so elsewhere it stays OK; Play pushes reach every zone on their own and are not counted.
   */
  private createHandOffAlarm(name: string) {
    this.alarm(`${name}-notifications-not-handed-on`, this.warningTopic, {
      alarmDescription:
        'Store notifications: another zone did not take an App Store notification of its account (docs/runbooks.md)',
      namespace: platformMetrics.namespace,
      metricName: platformMetrics.notificationsNotHandedOn,
      dimensions: { service: 'serenya' },
      statistic: 'Sum',
      threshold: 0,
      comparisonOperator: 'GreaterThanThreshold',
      period: 3600,
      evaluationPeriods: 1,
    });
  }

  private dashboard(
    name: string,
    title: string,
    args: ObservabilityArgs,
    widgets: Array<{ title: string; metrics: pulumi.Input<Metric>[]; stat?: string }>,
  ) {
    return new aws.cloudwatch.Dashboard(
      name,
      {
        dashboardName: `serenya-${args.zone}-${title}`,
        dashboardBody: pulumi.jsonStringify({
          widgets: widgets.map((w, i) => ({
            type: 'metric',
            x: (i % 2) * 12,
            y: Math.floor(i / 2) * 6,
            width: 12,
            height: 6,
            properties: {
              title: w.title,
              region: args.region,
              stat: w.stat ?? 'Sum',
              period: 300,
              view: 'timeSeries',
              metrics: w.metrics,
            },
          })),
        }),
      },
      { parent: this },
    );
  }

  private createDashboards(name: string, args: ObservabilityArgs) {
    const ns = platformMetrics.namespace;
    // Powertools adds the `service` dimension to every metric the runtime emits.
    const audit = (type: string): pulumi.Input<Metric> => [
      ns,
      platformMetrics.auditEvents,
      'service',
      'serenya',
      'type',
      type,
    ];
    const tokens = (metric: string, jobType: string): pulumi.Input<Metric> => [
      ns,
      metric,
      'service',
      'serenya',
      'model',
      args.modelId,
      'jobType',
      jobType,
    ];
    const perFunction = (metric: string) =>
      Object.values(args.functionNames).map((fn) =>
        pulumi.output(fn).apply((f): Metric => ['AWS/Lambda', metric, 'FunctionName', f]),
      );
    const api = (metric: string) =>
      pulumi
        .all([args.restApiName, args.stageName])
        .apply(([a, s]): Metric => ['AWS/ApiGateway', metric, 'ApiName', a, 'Stage', s]);
    const table = (metric: string) =>
      pulumi.output(args.tableName).apply((t): Metric => ['AWS/DynamoDB', metric, 'TableName', t]);
    return [
      this.dashboard(`${name}-executive`, 'executive', args, [
        { title: 'User registrations', metrics: [audit('user_registered')] },
        { title: 'Active users (sign-ins)', metrics: [audit('user_signed_in')] },
        { title: 'Subscription changes', metrics: [audit('subscription_changed')] },
        { title: 'Account deletions', metrics: [audit('user_deleted')] },
        { title: 'Estimated LLM spend (USD)', metrics: [[ns, platformMetrics.estimatedCost, 'service', 'serenya']] },
        {
          title: 'Model tokens by job type',
          metrics: ['document', 'chat', 'doctor_report'].flatMap((t) => [
            tokens(platformMetrics.inputTokens, t),
            tokens(platformMetrics.outputTokens, t),
          ]),
        },
      ]),
      this.dashboard(`${name}-operations`, 'operations', args, [
        { title: 'Lambda invocations', metrics: perFunction('Invocations') },
        { title: 'Lambda errors', metrics: perFunction('Errors') },
        { title: 'Lambda duration p99', metrics: perFunction('Duration'), stat: 'p99' },
        { title: 'API 4xx / 5xx', metrics: [api('4XXError'), api('5XXError')] },
        { title: 'API latency p99', metrics: [api('Latency')], stat: 'p99' },
        {
          title: 'DynamoDB consumed capacity',
          metrics: [table('ConsumedReadCapacityUnits'), table('ConsumedWriteCapacityUnits')],
        },
        { title: 'DynamoDB throttles', metrics: [table('ReadThrottleEvents'), table('WriteThrottleEvents')] },
        {
          // Daily storage metrics; the temp bucket should hover near empty (inputs deleted, results cleaned up).
          title: 'Temp bucket: objects and bytes',
          stat: 'Average',
          metrics: [
            pulumi
              .output(args.tempBucketName)
              .apply((b): Metric => ['AWS/S3', 'NumberOfObjects', 'BucketName', b, 'StorageType', 'AllStorageTypes']),
            pulumi
              .output(args.tempBucketName)
              .apply((b): Metric => ['AWS/S3', 'BucketSizeBytes', 'BucketName', b, 'StorageType', 'StandardStorage']),
          ],
        },
        {
          title: 'Bedrock invocations and errors',
          metrics: [
            ['AWS/Bedrock', 'Invocations', 'ModelId', args.modelId],
            ['AWS/Bedrock', 'InvocationServerErrors', 'ModelId', args.modelId],
            ['AWS/Bedrock', 'InvocationThrottles', 'ModelId', args.modelId],
          ],
        },
      ]),
      this.dashboard(`${name}-security`, 'security', args, [
        { title: 'Rejected requests (API 4xx)', metrics: [api('4XXError')] },
        { title: 'Revoked sessions (refresh-token reuse)', metrics: [audit('session_revoked')] },
        { title: 'Sign-outs', metrics: [audit('user_signed_out')] },
        {
          title: 'Audit stream: iterator age (ms)',
          metrics: [
            pulumi
              .output(args.functionNames.stream)
              .apply((f): Metric => ['AWS/Lambda', 'IteratorAge', 'FunctionName', f]),
          ],
          stat: 'Maximum',
        },
        {
          title: 'WAF blocked requests',
          metrics: [
            pulumi
              .output(args.webAclName)
              .apply(
                (w): Metric => ['AWS/WAFV2', 'BlockedRequests', 'WebACL', w, 'Region', args.region, 'Rule', 'ALL'],
              ),
          ],
        },
      ]),
    ];
  }
}
