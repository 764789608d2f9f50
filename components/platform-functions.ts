import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { FunctionName } from './function-roles';
import type { Statement } from './iam-statement';
import { transformed, type Transform } from './transform';
import { bundleLambda } from './lambda-bundle';
import { classified } from './tags';

/** One function's environment and the grants its role holds. */
export interface FunctionSpec {
  /** The variables it reads, by name (`functionEnvironment` of `contract.ts`). */
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** What its role may do besides writing its own logs (and, for `stream`, reporting failed batches). */
  grants: pulumi.Input<Statement>[];
}

export interface PlatformFunctionsArgs {
  /** Function and log-group names are `<namePrefix>-<api|worker|stream|chat>`. */
  namePrefix: string;
  /** The execution roles, from `FunctionRoles`. */
  roles: Record<FunctionName, aws.iam.Role>;
  /**
   * Each function's environment and grants, in one place: what it reads (see `contract.ts`; names
   * and ARNs, never secrets) and what it may do besides writing its own logs (the statements the
   * resources grant, `usersTable.grantItems()`, `tempBucket.grantJobObjects()`, …).
   */
  functions: Record<FunctionName, FunctionSpec>;
  /** The users table: its stream feeds the stream function. */
  table: aws.dynamodb.Table;
  /** CloudWatch Logs retention. @default 30 */
  logRetentionDays?: number;
  /** Reserved concurrency of the API function. @default unreserved */
  apiReservedConcurrency?: number;
  /** Reserved concurrency of the worker: the most model calls in flight at once. @default unreserved */
  workerReservedConcurrency?: number;
  /** Provisioned concurrency of the API function's `live` alias. @default 0 */
  apiProvisionedConcurrency?: number;
  /** Changes to each function this component makes (called with each function's args). @default none */
  transform?: { function?: Transform<aws.lambda.FunctionArgs> };
  /**
   * The code; tests may pass their own.
   * @default the esbuild bundle of `handlers/edge/lambda.ts`, built by this program
   */
  code?: pulumi.Input<pulumi.asset.Archive>;
}

/** The alias every trigger invokes. */
export const liveAlias = 'live';

/**
 * How often the sweeps run. Each run reports, so the deletion and revocation alarms (hourly periods,
 * silence breaching) hear from it many times an hour.
 */
const sweepInterval = 'rate(5 minutes)';

/**
 * Memory and timeout of each function; the worker and chat wait on Bedrock (a stream's slot lasts
 * the worker's timeout).
 */
export const functionSizes: Record<FunctionName, { memorySize: number; timeout: number }> = {
  // Under API Gateway's 29 s integration timeout: the function ends before the caller gets a 504.
  api: { memorySize: 1024, timeout: 28 },
  worker: { memorySize: 2048, timeout: 180 },
  stream: { memorySize: 512, timeout: 60 },
  chat: { memorySize: 1024, timeout: 180 },
};

/** Each function's export of the bundle: `chat` streams its answers (Lambda response streaming). */
const functionHandlers: Record<FunctionName, string> = {
  api: 'index.handler',
  worker: 'index.handler',
  stream: 'index.handler',
  chat: 'index.streamHandler',
};

/**
 * The four functions of a zone, all running the one bundle of `handlers/edge/lambda.ts`: `api`
 * (behind API Gateway, through its `live` alias), `worker` (S3 uploads), `stream` (the users
 * table's stream → audit bucket) and `chat` (streamed chat answers, behind API Gateway's streaming
 * integration). Each has its own role with exact actions on exact ARNs, a log
 * group with retention, and no X-Ray tracing: tracing the SDK clients would put the X-Ray SDK in every
 * cold start, and with one AWS round trip per route the request log line (route, status,
 * duration) and the counted AWS calls per route already say where a request's time goes.
 */
export class PlatformFunctions extends pulumi.ComponentResource {
  public readonly functions: Record<FunctionName, aws.lambda.Function>;
  /** The `live` alias of each function: every trigger invokes it, never `$LATEST`. */
  public readonly aliases: Record<FunctionName, aws.lambda.Alias>;
  public readonly logGroups: Record<FunctionName, aws.cloudwatch.LogGroup>;
  public readonly streamFailures: aws.sqs.Queue;
  /** The EventBridge rule that runs the scheduled sweeps (unfinished deletions, Apple token revocations). */
  public readonly sweepSchedule: aws.cloudwatch.EventRule;

  constructor(name: string, args: PlatformFunctionsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:compute:PlatformFunctions', name, {}, opts);
    const code = args.code ?? this.buildBundle();
    this.logGroups = this.createLogGroups(name, args);
    this.streamFailures = this.createStreamFailureQueue(name);
    const policies = this.createRolePolicies(name, args);
    this.functions = this.createFunctions(name, args, code, policies);
    this.aliases = this.createAliases(name, args);
    this.createStreamSubscription(name, args);
    this.sweepSchedule = this.createSweepSchedule(name);
    this.registerOutputs({
      apiFunctionName: this.functions.api.name,
      workerFunctionName: this.functions.worker.name,
      streamFunctionName: this.functions.stream.name,
      chatFunctionName: this.functions.chat.name,
    });
  }

  /** Each function with its `live` alias: what releases move and triggers invoke. */
  get nodes(): Record<FunctionName, { function: aws.lambda.Function; alias: aws.lambda.Alias }> {
    const node = (fn: FunctionName) => ({ function: this.functions[fn], alias: this.aliases[fn] });
    return { api: node('api'), worker: node('worker'), stream: node('stream'), chat: node('chat') };
  }

  /** Each function's name, for alarms and dashboards. */
  get names(): Record<FunctionName, pulumi.Output<string>> {
    const { api, worker, stream, chat } = this.functions;
    return { api: api.name, worker: worker.name, stream: stream.name, chat: chat.name };
  }

  private buildBundle() {
    const outdir = join(tmpdir(), `serenya-lambda-${pulumi.getProject()}-${pulumi.getStack()}`);
    return pulumi.output(bundleLambda(outdir)).apply(({ dir }) => new pulumi.asset.FileArchive(dir));
  }

  private createLogGroups(name: string, args: PlatformFunctionsArgs) {
    const each = (fn: FunctionName) =>
      new aws.cloudwatch.LogGroup(
        `${name}-${fn}-logs`,
        {
          name: `/aws/lambda/${args.namePrefix}-${fn}`,
          retentionInDays: args.logRetentionDays ?? 30,
          tags: classified('none'),
        },
        { parent: this },
      );
    return { api: each('api'), worker: each('worker'), stream: each('stream'), chat: each('chat') };
  }

  private createStreamFailureQueue(name: string) {
    // Lambda sends only the failed batch's coordinates here (shard, sequence numbers), no record
    // data; docs/runbooks.md says how to replay from them. Observability alarms on its depth.
    return new aws.sqs.Queue(
      `${name}-stream-failures`,
      { sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 24 * 3600, tags: classified('none') },
      { parent: this },
    );
  }

  private statements(fn: FunctionName, args: PlatformFunctionsArgs): pulumi.Input<Statement>[] {
    const logs: Statement = {
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: pulumi.interpolate`${this.logGroups[fn].arn}:*`,
    };
    const failedBatches: Statement = {
      Sid: 'ReportFailedBatches',
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: this.streamFailures.arn,
    };
    return [logs, ...args.functions[fn].grants, ...(fn === 'stream' ? [failedBatches] : [])];
  }

  private createRolePolicies(name: string, args: PlatformFunctionsArgs) {
    const each = (fn: FunctionName) =>
      new aws.iam.RolePolicy(
        `${name}-${fn}-policy`,
        {
          role: args.roles[fn].id,
          policy: pulumi.jsonStringify({ Version: '2012-10-17', Statement: this.statements(fn, args) }),
        },
        { parent: this },
      );
    return { api: each('api'), worker: each('worker'), stream: each('stream'), chat: each('chat') };
  }

  private createFunctions(
    name: string,
    args: PlatformFunctionsArgs,
    code: pulumi.Input<pulumi.asset.Archive>,
    policies: Record<FunctionName, aws.iam.RolePolicy>,
  ) {
    const each = (fn: FunctionName, extra: Partial<aws.lambda.FunctionArgs> = {}) =>
      new aws.lambda.Function(
        ...transformed(
          args.transform?.function,
          `${name}-${fn}`,
          {
            name: `${args.namePrefix}-${fn}`,
            description: `Serenya ${fn} (handlers/edge/lambda.ts)`,
            role: args.roles[fn].arn,
            runtime: 'nodejs24.x',
            architectures: ['arm64'],
            handler: functionHandlers[fn],
            code,
            ...functionSizes[fn],
            environment: { variables: args.functions[fn].environment },
            tracingConfig: { mode: 'PassThrough' },
            loggingConfig: { logFormat: 'JSON', logGroup: this.logGroups[fn].name },
            tags: classified(fn === 'stream' ? 'audit' : fn === 'worker' || fn === 'chat' ? 'phi-transient' : 'pii'),
            ...extra,
          },
          { parent: this, dependsOn: [this.logGroups[fn], policies[fn]] },
        ),
      );
    return {
      // Every deploy publishes a version; the `live` aliases move to it through a release (`releases.ts`).
      api: each('api', { publish: true, reservedConcurrentExecutions: args.apiReservedConcurrency }),
      worker: each('worker', { publish: true, reservedConcurrentExecutions: args.workerReservedConcurrency }),
      stream: each('stream', { publish: true }),
      chat: each('chat', { publish: true }),
    };
  }

  /**
   * A `live` alias per function, created on the first version. Afterwards the alias is moved only
   * by a release (CodeDeploy shifting traffic to the new version, rolled back on alarm), so Pulumi
   * ignores the version it points at and the traffic split in flight.
   */
  private createAliases(name: string, args: PlatformFunctionsArgs) {
    const alias = (fn: FunctionName) =>
      new aws.lambda.Alias(
        `${name}-${fn}-live`,
        { name: liveAlias, functionName: this.functions[fn].name, functionVersion: this.functions[fn].version },
        { parent: this, ignoreChanges: ['functionVersion', 'routingConfig'] },
      );
    const aliases = { api: alias('api'), worker: alias('worker'), stream: alias('stream'), chat: alias('chat') };
    if (args.apiProvisionedConcurrency) {
      new aws.lambda.ProvisionedConcurrencyConfig(
        `${name}-api-warm`,
        {
          functionName: this.functions.api.name,
          qualifier: aliases.api.name,
          provisionedConcurrentExecutions: args.apiProvisionedConcurrency,
        },
        { parent: this },
      );
    }
    return aliases;
  }

  /**
   * EventBridge's Scheduled Event to the API function's `live` alias, every `sweepInterval`: the
   * runtime's `schedule` handler (`handlers/edge/dispatch.ts`) finishes unfinished account deletions and
   * retries pending Apple token revocations, and reports both (alarmed on in `observability.ts`).
   * The API function's role already holds everything both sweeps touch.
   */
  private createSweepSchedule(name: string) {
    const rule = new aws.cloudwatch.EventRule(
      `${name}-sweeps`,
      {
        description: 'Serenya: finish unfinished account deletions, retry Apple token revocations',
        scheduleExpression: sweepInterval,
        tags: classified('none'),
      },
      { parent: this },
    );
    const permission = new aws.lambda.Permission(
      `${name}-sweeps-invoke-api`,
      {
        action: 'lambda:InvokeFunction',
        function: this.functions.api.name,
        qualifier: this.aliases.api.name,
        principal: 'events.amazonaws.com',
        sourceArn: rule.arn,
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-sweeps-target`,
      {
        rule: rule.name,
        arn: this.aliases.api.arn,
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
      },
      { parent: this, dependsOn: [permission] },
    );
    return rule;
  }

  private createStreamSubscription(name: string, args: PlatformFunctionsArgs) {
    return new aws.lambda.EventSourceMapping(
      `${name}-users-stream`,
      {
        eventSourceArn: args.table.streamArn,
        functionName: this.aliases.stream.arn,
        startingPosition: 'TRIM_HORIZON',
        batchSize: 100,
        maximumBatchingWindowInSeconds: 5,
        functionResponseTypes: ['ReportBatchItemFailures'],
        // A batch that fails as a whole (a timeout, a crash) is halved until the failing record is
        // alone, so the records around it get through; it alone goes to the failure queue.
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 10,
        destinationConfig: { onFailure: { destinationArn: this.streamFailures.arn } },
      },
      { parent: this },
    );
  }
}
