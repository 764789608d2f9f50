import { describe, expect, it } from 'vitest';
import { envVars } from '../../contract';
import { ConfigError, parseAppConfig, parseLambdaConfig } from '../../handlers/core/config';
import { deployedAppEnv, deployedKeyEnv } from '../../local/fixtures/deployed-env';

const valid = {
  ...deployedAppEnv,
  [envVars.googleClientIds]: 'a.apps.googleusercontent.com, b.apps.googleusercontent.com',
  [envVars.zoneDirectory]: JSON.stringify({ us: { issuer: 'https://api.us.serenya.health', homeApi: 'https://api.us.serenya.health' } }),
};
const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration from the environment', () => {
  it('parses a deployed zone', () => {
    const config = parseAppConfig(valid);
    expect(config).toMatchObject({ zone: 'eu', region: 'eu-west-1', version: 'dev', appleClientIds: [] });
    expect(config.googleClientIds).toEqual(['a.apps.googleusercontent.com', 'b.apps.googleusercontent.com']);
    expect(config.zoneDirectory.us!.homeApi).toBe('https://api.us.serenya.health');
  });

  it('names every bad or missing variable in one message', () => {
    const err = errorOf(() => parseAppConfig({ ...valid, [envVars.zone]: 'mars', [envVars.usersTable]: undefined, [envVars.issuer]: 'http://example.com' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toHaveLength(3);
    expect(err.message).toContain(`${envVars.zone} must be`);
    expect(err.message).toContain(`${envVars.usersTable} is missing`);
    expect(err.message).toContain(`${envVars.issuer} must be https, or http on loopback`);
  });

  it.each([
    ['a zone directory that is not JSON', { [envVars.zoneDirectory]: '{nope' }],
    ['a zone directory entry without homeApi', { [envVars.zoneDirectory]: '{"us":{"issuer":"https://x.test"}}' }],
    ['a zone directory naming this zone’s own issuer', { [envVars.zoneDirectory]: JSON.stringify({ eu: { issuer: valid[envVars.issuer], homeApi: valid[envVars.homeApi] } }) }],
    ['no sign-in provider at all', { [envVars.googleClientIds]: '' }],
    ['a region that is not one', { [envVars.region]: 'europe' }],
    ['a global inference profile', { [envVars.modelId]: 'global.anthropic.claude-haiku-4-5-20251001-v1:0' }],
    ['a quota that is not a number', { [envVars.concurrentJobs]: 'three' }],
  ])('refuses %s', (_, change) => {
    expect(() => parseAppConfig({ ...valid, ...change })).toThrow(ConfigError);
  });

  it('needs the KMS key ARNs in Lambda, and names them when they are missing', () => {
    const err = errorOf(() => parseLambdaConfig(valid));
    for (const name of [envVars.dataKeyArn, envVars.signingKeyArn, envVars.emailMacKeyArn]) expect(err.message).toContain(name);
    const ok = parseLambdaConfig({ ...valid, ...deployedKeyEnv, [envVars.emailMacKeyArn]: 'arn:aws:kms:eu-west-1:123456789012:alias/serenya-email-mac' });
    expect(ok.keys.dataKeyArn).toContain('mrk-1234');
  });
});
