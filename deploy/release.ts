import { type CodeDeployClient, CreateDeploymentCommand, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { ReleaseTarget } from '../components/releases';

/** How long the deploy waits for one function's release before it gives up (CI sizes its session by it). */
export const releaseTimeoutMs = 60 * 60_000;

/**
 * Moves each function's `live` alias to the version `pulumi up` just published, through CodeDeploy
 * (the stack's strategy: canary in production, all at once in dev), and waits: a release that an
 * alarm stopped was rolled back by CodeDeploy, and fails the deploy with that said.
 */
export async function release(
  targets: ReleaseTarget[],
  clients: { lambda: LambdaClient; codedeploy: CodeDeployClient },
  options: { progress?: (line: string) => void; pollMs?: number; timeoutMs?: number } = {},
): Promise<number> {
  const { progress = () => {}, pollMs = 15_000, timeoutMs = releaseTimeoutMs } = options;
  let released = 0;
  for (const target of targets) {
    const { FunctionVersion: current } = await clients.lambda.send(
      new GetAliasCommand({ FunctionName: target.functionName, Name: target.alias }),
    );
    if (current === target.version) continue;
    const appSpec = {
      // A string: CodeDeploy refuses the number 0 that `0.0` serialises to.
      version: '0.0',
      Resources: [
        {
          [target.functionName]: {
            Type: 'AWS::Lambda::Function',
            Properties: {
              Name: target.functionName,
              Alias: target.alias,
              CurrentVersion: current,
              TargetVersion: target.version,
            },
          },
        },
      ],
    };
    const { deploymentId } = await clients.codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: target.application,
        deploymentGroupName: target.deploymentGroup,
        revision: { revisionType: 'AppSpecContent', appSpecContent: { content: JSON.stringify(appSpec) } },
        description: `${target.functionName}: ${current} → ${target.version}`,
      }),
    );
    progress(
      `${target.functionName}: releasing version ${target.version} (was ${current}), deployment ${deploymentId}`,
    );
    const started = Date.now();
    for (const deadline = started + timeoutMs; ; ) {
      const { deploymentInfo } = await clients.codedeploy.send(new GetDeploymentCommand({ deploymentId }));
      const status = deploymentInfo?.status;
      if (status === 'Succeeded') break;
      if (status === 'Failed' || status === 'Stopped') {
        const why = deploymentInfo?.errorInformation?.message ?? status;
        throw new Error(
          `release of ${target.functionName} ${status.toLowerCase()} and was rolled back to version ${current} (${why}); see deployment ${deploymentId}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(
          `release of ${target.functionName} still ${status} after ${timeoutMs / 60_000} min; see deployment ${deploymentId}`,
        );
      // A heartbeat per poll: a canary waits minutes, and silence reads as a hang.
      const minutes = Math.floor((Date.now() - started) / 60_000);
      progress(`${target.functionName}: deployment ${deploymentId} ${status ?? 'pending'} (${minutes} min)`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
    released++;
  }
  return released;
}
