import { describe, expect, it } from 'vitest';
import {
  envVars,
  functionEnvironment,
  lambdaEnvVars,
  optionalEnvVars,
  type EnvVar,
  type FunctionEnvironment,
} from '../../contract';
import { parseLambdaConfig } from '../../handlers/core/config';
import { deployedAppEnv, deployedKeyEnv } from '../../local/fixtures/deployed-env';

/**
 * One contract between the stack and the runtime (`contract.ts`): the stack builds each function's
 * environment through `functionEnvironment`, whose type leaves nothing out (the `@ts-expect-error`
 * lines below fail `npm test`'s type check if a stack could), and the runtime's parser needs
 * nothing the contract lets a stack leave out.
 */
const keyOf = Object.fromEntries(Object.entries(envVars).map(([key, name]) => [name, key])) as Record<string, EnvVar>;
const deployed = Object.fromEntries(
  Object.entries({ ...deployedAppEnv, ...deployedKeyEnv }).map(([name, value]) => [keyOf[name]!, value]),
);

const everything: FunctionEnvironment<string> = {
  zone: deployed.zone!,
  version: 'v1',
  usersTable: deployed.usersTable!,
  tempBucket: deployed.tempBucket!,
  auditBucket: deployed.auditBucket!,
  dataKeyArn: deployed.dataKeyArn!,
  signingKeyArn: deployed.signingKeyArn!,
  emailMacKeyArn: deployed.emailMacKeyArn!,
  tokenJwks: deployed.tokenJwks!,
  issuer: deployed.issuer!,
  audience: deployed.audience!,
  homeApi: deployed.homeApi!,
  zoneDirectory: '{}',
  residencies: deployed.residencies!,
  googleClientIds: deployed.googleClientIds!,
  appleClientIds: '',
  logLevel: 'INFO',
  modelId: deployed.modelId!,
  usdPerMillionInputTokens: '1',
  usdPerMillionOutputTokens: '5',
  quotas: JSON.stringify({ dailyChatFree: 50 }),
  workerTimeoutSeconds: '180',
  appleBundleId: 'health.serenya.app',
  appleEnvironment: 'Sandbox',
};
/** As Lambda runs it: it adds AWS_REGION itself. */
const asLambdaRunsIt = (env: Record<string, string>) => ({ ...env, [envVars.region]: deployedAppEnv[envVars.region] });

describe('the functions’ environment contract', () => {
  it('builds an environment, by the variables’ names, that the runtime’s parser accepts', () => {
    const env = functionEnvironment(everything);
    expect(env[envVars.modelId]).toBe(everything.modelId);
    expect(() => parseLambdaConfig(asLambdaRunsIt(env))).not.toThrow();
  });

  it('starts the runtime with only what the contract requires: the optional variables are optional there too', () => {
    const required = Object.fromEntries(
      Object.entries(everything).filter(([key]) => !(optionalEnvVars as readonly string[]).includes(key)),
    ) as FunctionEnvironment<string>;
    expect(Object.keys(required)).not.toContain('appleBundleId');
    expect(() => parseLambdaConfig(asLambdaRunsIt(functionEnvironment(required)))).not.toThrow();
  });

  it('leaves the variables Lambda sets to Lambda, and drops optional ones left undefined', () => {
    // @ts-expect-error Lambda sets AWS_REGION itself: a stack that sets it does not compile
    const withRegion: FunctionEnvironment<string> = { ...everything, region: 'eu-west-1' };
    expect(functionEnvironment(withRegion)[envVars[lambdaEnvVars[0]]]).toBe('eu-west-1');
    expect(Object.keys(functionEnvironment({ ...everything, appleSignInSecretArn: undefined }))).not.toContain(
      envVars.appleSignInSecretArn,
    );
  });

  it('does not compile a stack that leaves out or misspells a variable', () => {
    const { modelId: _model, ...withoutModel } = everything;
    // @ts-expect-error the model is required: a stack without it does not compile
    const missing: FunctionEnvironment<string> = withoutModel;
    // @ts-expect-error a misspelled variable is not part of the contract
    const misspelled: FunctionEnvironment<string> = { ...withoutModel, modelID: everything.modelId };
    // What the type check prevents: the runtime would refuse to start.
    expect(() => parseLambdaConfig(asLambdaRunsIt(functionEnvironment(missing)))).toThrow(envVars.modelId);
    expect(() => parseLambdaConfig(asLambdaRunsIt(functionEnvironment(misspelled)))).toThrow(envVars.modelId);
  });
});
