import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envVars, quotaSettings } from '../../contract';
import { ConfigError, parseAppConfig, parseLambdaConfig } from '../../handlers/core/config';
import { configurationTable, configurationTableMarkers } from '../../handlers/core/config-reference';
import { deployedAppEnv, deployedKeyEnv } from '../../local/fixtures/deployed-env';

const valid = {
  ...deployedAppEnv,
  [envVars.googleClientIds]: 'a.apps.googleusercontent.com, b.apps.googleusercontent.com',
  [envVars.zoneDirectory]: JSON.stringify({
    us: { issuer: 'https://api.us.serenya.health', homeApi: 'https://api.us.serenya.health' },
  }),
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
    const err = errorOf(() =>
      parseAppConfig({
        ...valid,
        [envVars.zone]: 'mars',
        [envVars.usersTable]: undefined,
        [envVars.issuer]: 'http://example.com',
      }),
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toHaveLength(3);
    expect(err.message).toContain(`${envVars.zone} must be`);
    expect(err.message).toContain(`${envVars.usersTable} is missing`);
    expect(err.message).toContain(`${envVars.issuer} must be https, or http on loopback`);
  });

  it.each([
    ['a zone directory that is not JSON', { [envVars.zoneDirectory]: '{nope' }],
    ['a zone directory entry without homeApi', { [envVars.zoneDirectory]: '{"us":{"issuer":"https://x.test"}}' }],
    [
      'a zone directory naming this zone’s own issuer',
      {
        [envVars.zoneDirectory]: JSON.stringify({
          eu: { issuer: valid[envVars.issuer], homeApi: valid[envVars.homeApi] },
        }),
      },
    ],
    ['no sign-in provider at all', { [envVars.googleClientIds]: '' }],
    ['a region that is not one', { [envVars.region]: 'europe' }],
    ['a global inference profile', { [envVars.modelId]: 'global.anthropic.claude-haiku-4-5-20251001-v1:0' }],
    ['a quota that is not a number', { [envVars.quotas]: '{"concurrentJobs": "three"}' }],
    ['a quota the contract does not know', { [envVars.quotas]: '{"dailyChatFre": 5}' }],
  ])('refuses %s', (_, change) => {
    expect(() => parseAppConfig({ ...valid, ...change })).toThrow(ConfigError);
  });

  it('needs the KMS key ARNs in Lambda, and names them when they are missing', () => {
    const err = errorOf(() => parseLambdaConfig(valid));
    for (const name of [envVars.dataKeyArn, envVars.signingKeyArn, envVars.emailMacKeyArn])
      expect(err.message).toContain(name);
    const ok = parseLambdaConfig({
      ...valid,
      ...deployedKeyEnv,
      [envVars.emailMacKeyArn]: 'arn:aws:kms:eu-west-1:123456789012:alias/serenya-email-mac',
    });
    expect(ok.keys.dataKeyArn).toContain('mrk-1234');
  });

  it('reads the quotas as one value, each quota defaulting to the contract', () => {
    const defaults = parseAppConfig(valid).quotas;
    expect(defaults.concurrentJobs).toBe(quotaSettings.concurrentJobs.default);
    expect(defaults.daily.chat).toEqual({
      free: quotaSettings.dailyChatFree.default,
      premium: quotaSettings.dailyChatPremium.default,
    });
    const changed = parseAppConfig({ ...valid, [envVars.quotas]: JSON.stringify({ dailyChatFree: 7 }) }).quotas;
    expect(changed.daily.chat).toEqual({ free: 7, premium: quotaSettings.dailyChatPremium.default });
    expect(changed.daily.doctor_report.free).toBe(0);
    const err = errorOf(() => parseAppConfig({ ...valid, [envVars.quotas]: '{"dailyChatFree": 0}' }));
    expect(err.message).toContain(`${envVars.quotas}.dailyChatFree must be`);
  });
});

describe('the configuration reference', () => {
  it('is the one generated from the schemas (npm run docs:config writes it)', () => {
    const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const [open, close] = configurationTableMarkers;
    const written = page.slice(page.indexOf(open) + open.length, page.indexOf(close)).trim();
    expect(written, 'docs/configuration.md is stale: run npm run docs:config').toBe(configurationTable());
    for (const name of Object.values(envVars)) expect(written).toContain(`\`${name}\``);
  });
});
