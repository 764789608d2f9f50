import { beforeAll, describe, expect, it } from 'vitest';
import { chatStreamPath } from '../../contract';
import type { ResourceRecord, StackSnapshot } from '../../policy/stack-snapshot';
import { asArray } from '../../policy/policies';
import { stacks } from '../../policy/stack-yaml';
import { ofType, zoneSnapshot } from '../support/stack-queries';

/**
 * Streamed chat answers in AWS, under Pulumi's mocks: `POST /api/v1/chat/stream` goes through a
 * streaming integration (`responseTransferMode: STREAM`, Lambda's response-streaming invocation
 * URI) to the chat function's `live` alias, which runs the bundle's streaming export; the stage's
 * WAF and throttling cover it, a release shifts it on its own alarm, and its role streams from the
 * zone's model only.
 */
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

/** A REST API resource's full path, from its `pathPart` and its parents'. */
function pathOf(s: StackSnapshot, resource: ResourceRecord): string {
  const resources = ofType(s, 'aws:apigateway/resource:Resource');
  const parent = resources.find((r) => r.state.id === resource.inputs.parentId);
  return `${parent ? pathOf(s, parent) : ''}/${resource.inputs.pathPart}`;
}

describe.each(stacks)('stack %s', (stack) => {
  let s: StackSnapshot;
  let chat: ResourceRecord;
  let chatAlias: ResourceRecord;
  beforeAll(async () => {
    s = await zoneSnapshot(stack);
    chat = ofType(s, 'aws:lambda/function:Function').find((f) => f.inputs.name === `serenya-${stack}-chat`)!;
    chatAlias = ofType(s, 'aws:lambda/alias:Alias').find((a) => a.inputs.functionName === chat.state.name)!;
  });

  it('runs the chat function on the bundle’s streaming export, as long as the worker may wait on Bedrock', () => {
    const worker = ofType(s, 'aws:lambda/function:Function').find((f) => f.inputs.name === `serenya-${stack}-worker`)!;
    expect(chat.inputs).toMatchObject({
      handler: 'index.streamHandler',
      publish: true,
      runtime: 'nodejs24.x',
      timeout: worker.inputs.timeout,
    });
    expect(chat.inputs.environment.variables).toEqual(worker.inputs.environment.variables);
    expect(chatAlias.inputs.name).toBe('live');
  });

  it('streams the chat path through the chat function’s live alias, every other path through the API function', () => {
    const resources = ofType(s, 'aws:apigateway/resource:Resource');
    const integrations = ofType(s, 'aws:apigateway/integration:Integration');
    const streamed = resources.find((r) => pathOf(s, r) === chatStreamPath)!;
    expect(streamed).toBeDefined();
    const streaming = integrations.filter((i) => i.inputs.responseTransferMode === 'STREAM');
    expect(streaming).toHaveLength(1);
    expect(streaming[0]!.inputs).toMatchObject({
      resourceId: streamed.state.id,
      type: 'AWS_PROXY',
      integrationHttpMethod: 'POST',
      uri: `arn:aws:apigateway:${s.config.homeRegion}:lambda:path/2021-11-15/functions/${chatAlias.state.arn}/response-streaming-invocations`,
      timeoutMilliseconds: chat.inputs.timeout * 1000,
    });
    expect(streaming[0]!.inputs.timeoutMilliseconds).toBeLessThanOrEqual(900_000);
    // The streamed path's parents, and anything under them, still reach the API function.
    const api = ofType(s, 'aws:lambda/alias:Alias').find((a) => a.inputs.functionName === `serenya-${stack}-api`)!;
    for (const i of integrations.filter((x) => x !== streaming[0])) {
      expect(i.inputs.uri).toBe(api.state.invokeArn);
      expect(i.inputs.responseTransferMode).toBeUndefined();
    }
    const paths = integrations.map((i) =>
      i.inputs.resourceId === s.resources.find((r) => r.type === 'aws:apigateway/restApi:RestApi')!.state.rootResourceId
        ? '/'
        : pathOf(s, resources.find((r) => r.state.id === i.inputs.resourceId)!),
    );
    expect(paths.sort()).toEqual(
      [
        '/',
        '/api',
        '/api/v1',
        '/api/v1/chat',
        '/api/v1/chat/stream',
        '/api/v1/chat/{proxy+}',
        '/api/v1/{proxy+}',
        '/api/{proxy+}',
        '/{proxy+}',
      ].sort(),
    );
    // The deployment is redeployed when the streaming integration changes.
    const [deployment] = ofType(s, 'aws:apigateway/deployment:Deployment');
    expect(deployment!.inputs.triggers.routes).toContain('response-streaming-invocations');
  });

  it('lets API Gateway invoke the chat function for the streamed path only, through its live alias', () => {
    const permissions = ofType(s, 'aws:lambda/permission:Permission').filter(
      (p) => p.inputs.function === chat.state.name,
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.inputs).toMatchObject({
      action: 'lambda:InvokeFunction',
      principal: 'apigateway.amazonaws.com',
      qualifier: 'live',
    });
    expect(permissions[0]!.inputs.sourceArn).toMatch(new RegExp(`/\\*/\\*${chatStreamPath.replace(/\//g, '\\/')}$`));
  });

  it('puts the streamed route behind the stage’s WAF and throttling', () => {
    const [stage] = ofType(s, 'aws:apigateway/stage:Stage');
    const [association] = ofType(s, 'aws:wafv2/webAclAssociation:WebAclAssociation');
    expect(association!.inputs.resourceArn).toBe(stage!.state.arn);
    const settings = ofType(s, 'aws:apigateway/methodSettings:MethodSettings');
    expect(settings.map((m) => m.inputs.methodPath)).toEqual(['*/*']);
    expect(settings[0]!.inputs.settings.throttlingRateLimit).toBe(s.config.throttling.rateLimit);
  });

  it('releases the chat function by canary like the others, rolled back on its own error rate', () => {
    const group = ofType(s, 'aws:codedeploy/deploymentGroup:DeploymentGroup').find(
      (g) => g.state.deploymentGroupName === `${chat.state.name}-live`,
    )!;
    expect(group).toBeDefined();
    const alarms = ofType(s, 'aws:cloudwatch/metricAlarm:MetricAlarm');
    // Its errors, as a metric or inside metric math.
    const onChat = (a: ResourceRecord) =>
      [a.inputs, ...(a.inputs.metricQueries ?? []).map((q: any) => q.metric ?? {})].some(
        (m: any) => m.dimensions?.FunctionName === chat.state.name && m.metricName === 'Errors',
      );
    const chatErrors = alarms.find(onChat)!;
    expect(chatErrors).toBeDefined();
    expect(group.inputs.alarmConfiguration.alarms).toContain(chatErrors.state.name);
    const releases = s.outputs.releases as Array<Record<string, string>>;
    expect(releases.map((r) => r.functionName)).toContain(chat.state.name);
  });

  it('gives the chat role the streaming model call on the zone’s model only, and no buckets', () => {
    const role = ofType(s, 'aws:iam/role:Role').find((r) => r.state.arn === chat.inputs.role)!;
    const policy = ofType(s, 'aws:iam/rolePolicy:RolePolicy').find((p) => p.inputs.role === role.state.id)!;
    const statements = json(policy.inputs.policy).Statement as Array<{
      Action: string | string[];
      Resource: string | string[];
    }>;
    const bedrock = statements.filter((st) => asArray(st.Action).some((a) => a.startsWith('bedrock:')));
    expect(bedrock.flatMap((st) => asArray(st.Action))).toEqual(['bedrock:InvokeModelWithResponseStream']);
    expect(bedrock.flatMap((st) => asArray(st.Resource)).sort()).toEqual(
      [...(s.outputs.bedrockArns as string[])].sort(),
    );
    expect(statements.flatMap((st) => asArray(st.Action)).some((a) => a.startsWith('s3:'))).toBe(false);
  });
});
