import { beforeAll, describe, expect, it } from 'vitest';
import { functionNames } from '../../components/function-roles';
import { rollbackAlarmRule } from '../../components/observability';
import type { StackSnapshot } from '../../policy/stack-snapshot';
import { stacks } from '../../policy/stack-yaml';
import { ofType, zoneSnapshot } from '../support/stack-queries';

/**
 * Releases that cannot take a zone down, under mocks: every trigger invokes a function's `live`
 * alias (never `$LATEST` or an unqualified function), every function publishes versions, and a
 * CodeDeploy deployment group per function shifts the alias by the stack's strategy and rolls
 * back on the API's 5xx rate and the functions' error rates, each judged on a minimum sample.
 */
const aliasArn = /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[^:]+:live$/;

describe.each(stacks)('stack %s', (stack) => {
  let s: StackSnapshot;
  beforeAll(async () => {
    s = await zoneSnapshot(stack);
  });

  it('publishes a version of every function and gives each a live alias that Pulumi does not move', () => {
    const functions = ofType(s, 'aws:lambda/function:Function');
    expect(functions.map((f) => f.inputs.publish)).toEqual(functionNames.map(() => true));
    const aliases = ofType(s, 'aws:lambda/alias:Alias');
    expect(aliases.map((a) => a.inputs.functionName).sort()).toEqual(functions.map((f) => f.inputs.name).sort());
    for (const alias of aliases) expect(alias.inputs).toMatchObject({ name: 'live', functionVersion: '1' });
  });

  it('invokes the live alias from every trigger, never $LATEST', () => {
    const integrations = ofType(s, 'aws:apigateway/integration:Integration');
    expect(integrations.length).toBeGreaterThan(0);
    for (const i of integrations)
      expect(i.inputs.uri).toMatch(/function:[^:]+:live\/(invocations|response-streaming-invocations)$/);
    const [notification] = ofType(s, 'aws:s3/bucketNotification:BucketNotification');
    expect(notification!.inputs.lambdaFunctions.map((f: { lambdaFunctionArn: string }) => f.lambdaFunctionArn)).toEqual(
      [expect.stringMatching(aliasArn)],
    );
    const [mapping] = ofType(s, 'aws:lambda/eventSourceMapping:EventSourceMapping');
    expect(mapping!.inputs.functionName).toMatch(aliasArn);
    for (const permission of ofType(s, 'aws:lambda/permission:Permission'))
      expect(permission.inputs.qualifier, permission.name).toBe('live');
    for (const warm of ofType(s, 'aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig'))
      expect(warm.inputs.qualifier).toBe('live');
    expect(JSON.stringify(s.resources.map((r) => r.inputs))).not.toContain('$LATEST');
  });

  it('shifts each alias through CodeDeploy by the stack’s strategy, rolling back on alarm', () => {
    const [app] = ofType(s, 'aws:codedeploy/application:Application');
    expect(app!.inputs.computePlatform).toBe('Lambda');
    const groups = ofType(s, 'aws:codedeploy/deploymentGroup:DeploymentGroup');
    expect(groups).toHaveLength(functionNames.length);
    const alarms = ofType(s, 'aws:cloudwatch/metricAlarm:MetricAlarm');
    const byName = (name: string) => alarms.find((a) => a.state.name === name);
    for (const group of groups) {
      expect(group.inputs).toMatchObject({
        deploymentConfigName: s.config.release.strategy,
        deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
        autoRollbackConfiguration: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
        alarmConfiguration: { enabled: true },
      });
      const watched = group.inputs.alarmConfiguration.alarms.map((n: string) => byName(n)!.inputs);
      // Each an error rate over a minimum sample, not a count: errors / total, 0 below the sample.
      const rates = watched.map((alarm: any) => {
        const query = (id: string) => alarm.metricQueries.find((q: any) => q.id === id);
        expect(alarm.metricName).toBeUndefined();
        expect(query('rate')).toMatchObject({
          returnData: true,
          expression: `IF(FILL(total, 0) >= ${rollbackAlarmRule.minimumSample}, FILL(errors, 0) / total, 0)`,
        });
        expect(alarm).toMatchObject({
          threshold: rollbackAlarmRule.errorRate,
          comparisonOperator: 'GreaterThanThreshold',
        });
        return `${query('errors').metric.metricName}/${query('total').metric.metricName}`;
      });
      expect(rates.sort()).toEqual(['5XXError/Count', ...functionNames.map(() => 'Errors/Invocations')]);
    }
    const releases = s.outputs.releases as Array<Record<string, string>>;
    expect(releases.map((r) => r.alias)).toEqual(functionNames.map(() => 'live'));
    expect(releases.map((r) => r.deploymentGroup).sort()).toEqual(
      groups.map((g) => g.state.deploymentGroupName).sort(),
    );
  });
});

describe('the strategies', () => {
  it('shift dev all at once and production by a canary', async () => {
    const dev = await zoneSnapshot('dev');
    const prod = await zoneSnapshot('prod-eu');
    expect(dev.config.release.strategy).toBe('CodeDeployDefault.LambdaAllAtOnce');
    expect(prod.config.release.strategy).toBe('CodeDeployDefault.LambdaCanary10Percent5Minutes');
  });
});
