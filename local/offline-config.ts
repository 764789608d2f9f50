import { envVars, otherResidencies } from '../contract';
import { parseAppConfig, type AppConfig } from '../handlers/core/config';

/** The client ids the local identity provider mints for, and the offline zone trusts. */
export const localClientIds = { google: 'serenya-local.apps.googleusercontent.com', apple: 'health.serenya.local' };

/** The offline stores: a Sandbox App Store app and a Play package whose pushes come from this account. */
export const localStores = {
  bundleId: 'health.serenya.local',
  packageName: 'health.serenya.local',
  pushServiceAccount: 'rtdn-push@serenya-local.iam.gserviceaccount.com',
};

/** The offline zone, configured through the same parser as a deployed one. */
export function offlineConfig(options: {
  apiUrl: string;
  /** The Play Developer API stand-in. */
  playDeveloperApiUrl?: string;
  usersTable?: string;
  tempBucket?: string;
  auditBucket?: string;
  env?: Record<string, string>;
}): AppConfig {
  return parseAppConfig({
    [envVars.zone]: 'dev',
    [envVars.region]: 'eu-west-1',
    [envVars.version]: 'local',
    [envVars.usersTable]: options.usersTable ?? 'serenya-dev-users',
    [envVars.tempBucket]: options.tempBucket ?? 'serenya-dev-temp',
    [envVars.auditBucket]: options.auditBucket ?? 'serenya-dev-audit',
    [envVars.issuer]: options.apiUrl,
    [envVars.audience]: 'serenya-mobile',
    [envVars.homeApi]: options.apiUrl,
    // The dev zone onboards everyone.
    [envVars.residencies]: otherResidencies,
    [envVars.googleClientIds]: localClientIds.google,
    [envVars.appleClientIds]: localClientIds.apple,
    // The Bedrock stand-in answers for any model id; this is the one the EU zones use.
    [envVars.modelId]: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
    [envVars.usdPerMillionInputTokens]: '1',
    [envVars.usdPerMillionOutputTokens]: '5',
    [envVars.appleBundleId]: localStores.bundleId,
    [envVars.appleEnvironment]: 'Sandbox',
    [envVars.playPackageName]: localStores.packageName,
    [envVars.playPushAudience]: `${options.apiUrl}/api/v1/subscriptions/webhook`,
    [envVars.playPushServiceAccount]: localStores.pushServiceAccount,
    ...(options.playDeveloperApiUrl ? { [envVars.playDeveloperApiUrl]: options.playDeveloperApiUrl } : {}),
    ...options.env,
  });
}
