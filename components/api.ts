import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { serviceRole } from './service-role';
import { classified } from './tags';
import { transformed, type Transform } from './transform';

export interface ApiDomain {
  /** This zone's own name, the `homeApi` the app pins. */
  zoneName: string;
  /** The geo-DNS name all zones answer, each for its own locations. */
  globalName: string;
  /** Route 53 hosted zone holding both names. */
  hostedZoneId: string;
  /** This stack creates the global name's certificate validation record, shared by every zone of the account. */
  ownsGlobalValidationRecord: boolean;
}

export interface ApiArgs {
  /** The zone's home region (for the execute-api URL). */
  region: string;
  /** Steady-state requests per second for the stage. */
  rateLimit: number;
  /** Burst requests for the stage. */
  burstLimit: number;
  /** Requests per 5 minutes one IP may send before WAF blocks it. */
  wafRequestsPer5MinPerIp: number;
  /**
   * Requests per 5 minutes one bearer token (the `authorization` header) may send before WAF blocks
   * it: the per-client limit, since the stage's throttle is shared by every client. @default 600
   */
  wafRequestsPer5MinPerToken?: number;
  /** Retention of the access logs. @default 30 */
  logRetentionDays?: number;
  /** Custom domains with a regional ACM certificate validated by DNS. @default none: the execute-api URL */
  domain?: ApiDomain;
  /**
   * Set this account and region's API Gateway CloudWatch Logs role. It is one setting per account and
   * region: exactly one stack there manages it, the others rely on it (preflight checks it is set).
   * @default true
   */
  managesAccountSettings?: boolean;
  /** Changes to the resources this component makes: one WAF rule, a stage setting. @default none */
  transform?: { webAcl?: Transform<aws.wafv2.WebAclArgs>; stage?: Transform<aws.apigateway.StageArgs> };
}

const stageName = 'live';

/** A path answered by a streaming function: API Gateway streams its response as the function writes it. */
interface StreamedRoute {
  /** The full path, e.g. `/api/v1/chat/stream`; every method on it goes to `handler`. */
  path: string;
  /** The streaming function's `live` alias (its handler wrapped by `awslambda.streamifyResponse`). */
  handler: aws.lambda.Alias;
  /** How long a response may stream; up to 900 (15 minutes) with `responseTransferMode: STREAM`. */
  timeoutSeconds: number;
}

/** API Gateway's URI for Lambda's `InvokeWithResponseStream` of a function or alias. */
const responseStreamingUri = (region: string, functionArn: pulumi.Input<string>) =>
  pulumi.interpolate`arn:aws:apigateway:${region}:lambda:path/2021-11-15/functions/${functionArn}/response-streaming-invocations`;
const apiGatewayLogsPolicyArn = 'arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs';

/** What API Gateway writes per request: ids, codes, sizes and latencies — never a body, a path or an address. */
const accessLogFormat = JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  method: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  wafStatus: '$context.waf.status',
  errorType: '$context.error.responseType',
});

/**
 * The zone's public edge: a regional REST API whose root and `{proxy+}` go to the API function
 * (Hono routes inside), a stage with JSON access logs and throttling, a WAFv2 web ACL, and the
 * custom domains. Call `connect()` with the function once it exists.
 */
export class Api extends pulumi.ComponentResource {
  public readonly restApi: aws.apigateway.RestApi;
  public readonly webAcl: aws.wafv2.WebAcl;
  /** WAF's request log (`aws-waf-logs-…`), the `authorization` header redacted. */
  public readonly wafLogs: aws.cloudwatch.LogGroup;
  public readonly accessLogs: aws.cloudwatch.LogGroup;
  /** The base URL the app uses: the zone's domain, or the execute-api URL without one. */
  public readonly url: pulumi.Output<string>;
  public readonly domainNames: { zone?: aws.apigateway.DomainName; global?: aws.apigateway.DomainName } = {};
  public stage?: aws.apigateway.Stage;
  /** Fails (and so stops the preview) when the hosted zone does not serve the domain names. */
  public hostedZoneCheck?: pulumi.Output<string | undefined>;
  /** The account setting the stage's access logs need, when this stack manages it. */
  public readonly accountSettings?: aws.apigateway.Account;
  private readonly name: string;
  private readonly args: ApiArgs;

  constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super('serenya:edge:Api', name, {}, opts);
    this.name = name;
    this.args = args;
    this.restApi = this.createRestApi();
    this.webAcl = this.createWebAcl();
    this.wafLogs = this.createWafLogging();
    this.accessLogs = this.createAccessLogs();
    if (args.managesAccountSettings ?? true) this.accountSettings = this.createAccountLoggingRole();
    if (args.domain) this.createDomains(args.domain);
    this.url = args.domain
      ? pulumi.output(`https://${args.domain.zoneName}`)
      : pulumi.interpolate`https://${this.restApi.id}.execute-api.${args.region}.amazonaws.com/${stageName}`;
    this.registerOutputs({ restApiId: this.restApi.id, url: this.url });
  }

  private createRestApi() {
    return new aws.apigateway.RestApi(
      `${this.name}-rest`,
      {
        description: 'Serenya API: every route goes to the one Hono app',
        endpointConfiguration: { types: 'REGIONAL' },
        // With a custom domain, that is the only way in (and the one WAF and DNS cover).
        disableExecuteApiEndpoint: !!this.args.domain,
        tags: classified('none'),
      },
      { parent: this },
    );
  }

  private createWebAcl() {
    const visibility = (metricName: string) => ({
      metricName,
      cloudwatchMetricsEnabled: true,
      // Sampled requests would keep headers (bearer tokens) in WAF's console.
      sampledRequestsEnabled: false,
    });
    const managed = (
      priority: number,
      name: string,
      ruleActionOverrides: aws.types.input.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverride[] = [],
    ) => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides } },
      visibilityConfig: visibility(name),
    });
    return new aws.wafv2.WebAcl(
      ...transformed(
        this.args.transform?.webAcl,
        `${this.name}-waf`,
        {
          scope: 'REGIONAL',
          defaultAction: { allow: {} },
          rules: [
            // The common rules block bodies over 8 KB; the app takes up to 256 KiB and caps it itself.
            managed(1, 'AWSManagedRulesCommonRuleSet', [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]),
            managed(2, 'AWSManagedRulesKnownBadInputsRuleSet'),
            {
              name: 'rate-per-ip',
              priority: 3,
              action: { block: {} },
              statement: { rateBasedStatement: { limit: this.args.wafRequestsPer5MinPerIp, aggregateKeyType: 'IP' } },
              visibilityConfig: visibility('rate-per-ip'),
            },
            // One client, wherever it connects from. Requests without the header are not counted here
            // (WAF skips a request missing a custom key); the per-IP rule still counts them.
            {
              name: 'rate-per-token',
              priority: 4,
              action: { block: {} },
              statement: {
                rateBasedStatement: {
                  limit: this.args.wafRequestsPer5MinPerToken ?? 600,
                  aggregateKeyType: 'CUSTOM_KEYS',
                  customKeys: [
                    { header: { name: 'authorization', textTransformations: [{ priority: 0, type: 'NONE' }] } },
                  ],
                },
              },
              visibilityConfig: visibility('rate-per-token'),
            },
          ],
          visibilityConfig: visibility(`${this.name}-waf`),
          tags: classified('none'),
        },
        { parent: this },
      ),
    );
  }

  /**
   * WAF's log of every request it evaluated, in the zone: which rule matched, the client's address
   * and headers, with the bearer token redacted. The group's name must start with `aws-waf-logs-`.
   */
  private createWafLogging() {
    const logs = new aws.cloudwatch.LogGroup(
      `${this.name}-waf-logs`,
      {
        namePrefix: 'aws-waf-logs-serenya-',
        retentionInDays: this.args.logRetentionDays ?? 30,
        tags: classified('pii'),
      },
      { parent: this },
    );
    new aws.wafv2.WebAclLoggingConfiguration(
      `${this.name}-waf-logging`,
      {
        resourceArn: this.webAcl.arn,
        logDestinationConfigs: [logs.arn],
        redactedFields: [{ singleHeader: { name: 'authorization' } }],
      },
      { parent: this },
    );
    return logs;
  }

  private createAccessLogs() {
    return new aws.cloudwatch.LogGroup(
      `${this.name}-access-logs`,
      { retentionInDays: this.args.logRetentionDays ?? 30, tags: classified('none') },
      { parent: this },
    );
  }

  private createAccountLoggingRole() {
    // AWS's own policy for this role: the setting serves every API of the account and region, so a
    // role scoped to this stack's log group would silently drop the other stacks' access logs.
    const { role, policy } = serviceRole(
      `${this.name}-apigw-logs`,
      {
        service: 'apigateway.amazonaws.com',
        description: 'API Gateway writes access logs of every stage in this account and region',
        managedPolicyArn: apiGatewayLogsPolicyArn,
        // The APIs of this region (API Gateway's ARNs name no account; aws:SourceAccount pins it).
        sourceArn: `arn:aws:apigateway:${this.args.region}::/*`,
      },
      this,
    );
    return new aws.apigateway.Account(
      `${this.name}-account`,
      { cloudwatchRoleArn: role.arn },
      { parent: this, dependsOn: [policy] },
    );
  }

  private createDomains(domain: ApiDomain) {
    this.hostedZoneCheck = this.checkHostedZone(domain);
    const hostedZoneId = domain.hostedZoneId;
    const certificate = new aws.acm.Certificate(
      `${this.name}-certificate`,
      {
        domainName: domain.zoneName,
        subjectAlternativeNames: [domain.globalName],
        validationMethod: 'DNS',
        tags: classified('none'),
      },
      { parent: this },
    );
    const option = (name: string) =>
      certificate.domainValidationOptions.apply((options) => {
        const found = options.find((o) => o.domainName === name);
        if (!found) throw new Error(`ACM returned no validation record for ${name}`);
        return found;
      });
    // Every record has one owner: the zone name's record is this stack's; the global name's record
    // is the same for every certificate of the account, so only the owning stack creates it.
    const owned = [domain.zoneName, ...(domain.ownsGlobalValidationRecord ? [domain.globalName] : [])];
    const records = owned.map(
      (name) =>
        new aws.route53.Record(
          `${this.name}-certificate-validation-${name === domain.zoneName ? 'zone' : 'global'}`,
          {
            zoneId: hostedZoneId,
            name: option(name).resourceRecordName,
            type: option(name).resourceRecordType,
            records: [option(name).resourceRecordValue],
            ttl: 300,
          },
          { parent: this },
        ),
    );
    const validated = new aws.acm.CertificateValidation(
      `${this.name}-certificate-validated`,
      {
        certificateArn: certificate.arn,
        validationRecordFqdns: [
          ...records.map((r) => r.fqdn),
          ...(domain.ownsGlobalValidationRecord ? [] : [option(domain.globalName).resourceRecordName]),
        ],
      },
      { parent: this },
    );
    const domainName = (key: 'zone' | 'global', name: string) =>
      new aws.apigateway.DomainName(
        `${this.name}-${key}-domain`,
        {
          domainName: name,
          regionalCertificateArn: validated.certificateArn,
          endpointConfiguration: { types: 'REGIONAL' },
          securityPolicy: 'TLS_1_2',
          tags: classified('none'),
        },
        { parent: this },
      );
    this.domainNames.zone = domainName('zone', domain.zoneName);
    this.domainNames.global = domainName('global', domain.globalName);
  }

  /**
   * The hosted zone, read from Route 53 at preview: a zone id that does not exist, is private, or
   * does not serve both names is a problem that stops the preview (`Zone.deployChecks`)
   * instead of failing certificate validation halfway through `pulumi up`.
   */
  private checkHostedZone(domain: ApiDomain) {
    const zone = aws.route53.getZoneOutput({ zoneId: domain.hostedZoneId }, { parent: this });
    return pulumi.all([zone.name, zone.privateZone]).apply(([zoneName, privateZone]) => {
      const apex = zoneName.replace(/\.$/, '');
      const outside = [domain.zoneName, domain.globalName].filter((n) => n !== apex && !n.endsWith(`.${apex}`));
      if (privateZone)
        return `serenya:domain.hostedZoneId ${domain.hostedZoneId} is a private hosted zone; name the public zone that serves ${domain.zoneName}`;
      if (outside.length)
        return `serenya:domain.hostedZoneId ${domain.hostedZoneId} serves ${apex}, not ${outside.join(' and ')}; name the hosted zone of those names`;
      return undefined;
    });
  }

  /**
   * Routes every request to `handler`, and `streamed.path` to the streaming function through a
   * streaming integration, and publishes the stage behind WAF and the domains. The streamed path's
   * parent resources answer through `handler` too (each with its own `{proxy+}`), so no request
   * depends on how API Gateway falls back from a more specific resource to the root's proxy.
   */
  connect(handler: aws.lambda.Alias, streamed?: StreamedRoute) {
    const resource = (key: string, parentId: pulumi.Input<string>, pathPart: string) =>
      new aws.apigateway.Resource(
        `${this.name}-${key}`,
        { restApi: this.restApi.id, parentId, pathPart },
        { parent: this },
      );
    const targets: Array<{ key: string; resourceId: pulumi.Input<string>; streaming?: StreamedRoute }> = [
      { key: 'root', resourceId: this.restApi.rootResourceId },
      { key: 'proxy', resourceId: resource('proxy', this.restApi.rootResourceId, '{proxy+}').id },
    ];
    if (streamed) {
      const segments = streamed.path.split('/').filter(Boolean);
      let parentId: pulumi.Input<string> = this.restApi.rootResourceId;
      segments.forEach((segment, i) => {
        const key = `path-${segments.slice(0, i + 1).join('-')}`;
        const { id } = resource(key, parentId, segment);
        if (i === segments.length - 1) targets.push({ key: 'streamed', resourceId: id, streaming: streamed });
        else
          targets.push(
            { key, resourceId: id },
            { key: `${key}-proxy`, resourceId: resource(`${key}-proxy`, id, '{proxy+}').id },
          );
        parentId = id;
      });
    }
    const routes = targets.map(({ key, resourceId, streaming }) => {
      // Authentication happens in the app: one verifier, the same offline and in AWS.
      const method = new aws.apigateway.Method(
        `${this.name}-${key}-any`,
        { restApi: this.restApi.id, resourceId, httpMethod: 'ANY', authorization: 'NONE' },
        { parent: this },
      );
      const integration = new aws.apigateway.Integration(
        `${this.name}-${key}-lambda`,
        {
          restApi: this.restApi.id,
          resourceId,
          httpMethod: method.httpMethod,
          type: 'AWS_PROXY',
          integrationHttpMethod: 'POST',
          ...(streaming
            ? {
                uri: responseStreamingUri(this.args.region, streaming.handler.arn),
                responseTransferMode: 'STREAM',
                timeoutMilliseconds: streaming.timeoutSeconds * 1000,
              }
            : { uri: handler.invokeArn }),
        },
        { parent: this },
      );
      return { method, integration };
    });
    new aws.lambda.Permission(
      `${this.name}-invokes-api`,
      {
        action: 'lambda:InvokeFunction',
        function: handler.functionName,
        qualifier: handler.name,
        principal: 'apigateway.amazonaws.com',
        sourceArn: pulumi.interpolate`${this.restApi.executionArn}/*/*`,
      },
      { parent: this },
    );
    if (streamed) {
      // InvokeWithResponseStream is authorized as lambda:InvokeFunction; only the streamed path may.
      new aws.lambda.Permission(
        `${this.name}-invokes-streamed`,
        {
          action: 'lambda:InvokeFunction',
          function: streamed.handler.functionName,
          qualifier: streamed.handler.name,
          principal: 'apigateway.amazonaws.com',
          sourceArn: pulumi.interpolate`${this.restApi.executionArn}/*/*${streamed.path}`,
        },
        { parent: this },
      );
    }
    const deployment = new aws.apigateway.Deployment(
      `${this.name}-deployment`,
      {
        restApi: this.restApi.id,
        triggers: {
          routes: pulumi.jsonStringify(routes.map((r) => [r.method.id, r.integration.id, r.integration.uri])),
        },
      },
      { parent: this, dependsOn: routes.flatMap((r) => [r.method, r.integration]) },
    );
    this.stage = new aws.apigateway.Stage(
      ...transformed(
        this.args.transform?.stage,
        `${this.name}-stage`,
        {
          restApi: this.restApi.id,
          deployment: deployment.id,
          stageName,
          // No X-Ray: see `platform-functions.ts` for why the zone does not trace.
          xrayTracingEnabled: false,
          accessLogSettings: { destinationArn: this.accessLogs.arn, format: accessLogFormat },
          tags: classified('none'),
        },
        // Access logs need the account's CloudWatch role set first, or stage creation is refused.
        { parent: this, dependsOn: this.accountSettings ? [this.accountSettings] : [] },
      ),
    );
    new aws.apigateway.MethodSettings(
      `${this.name}-stage-settings`,
      {
        restApi: this.restApi.id,
        stageName: this.stage.stageName,
        methodPath: '*/*',
        settings: {
          metricsEnabled: true,
          // Execution logs (and their data trace) would log request and response bodies.
          loggingLevel: 'OFF',
          dataTraceEnabled: false,
          throttlingRateLimit: this.args.rateLimit,
          throttlingBurstLimit: this.args.burstLimit,
        },
      },
      { parent: this },
    );
    new aws.wafv2.WebAclAssociation(
      `${this.name}-waf-association`,
      { resourceArn: this.stage.arn, webAclArn: this.webAcl.arn },
      { parent: this },
    );
    for (const [key, domainName] of Object.entries(this.domainNames)) {
      new aws.apigateway.BasePathMapping(
        `${this.name}-${key}-mapping`,
        { restApi: this.restApi.id, stageName: this.stage.stageName, domainName: domainName.domainName },
        { parent: this },
      );
    }
    return this.stage;
  }
}
