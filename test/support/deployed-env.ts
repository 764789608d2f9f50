import { generateKeyPairSync } from 'node:crypto';
import { envVars, publicJwkOf } from '../../contract';

/** A deployed EU zone's Lambda environment (see `contract.ts`); tests and the bench vary it. */
export const deployedAppEnv = {
  [envVars.zone]: 'eu',
  [envVars.region]: 'eu-west-1',
  [envVars.usersTable]: 'serenya-eu-users',
  [envVars.tempBucket]: 'serenya-eu-temp',
  [envVars.auditBucket]: 'serenya-eu-audit',
  [envVars.issuer]: 'https://api.eu.serenya.health',
  [envVars.audience]: 'serenya-mobile',
  [envVars.homeApi]: 'https://api.eu.serenya.health',
  [envVars.residencies]: 'EEA',
  [envVars.googleClientIds]: 'client.apps.googleusercontent.com',
  [envVars.modelId]: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
  [envVars.usdPerMillionInputTokens]: '1',
  [envVars.usdPerMillionOutputTokens]: '5',
};

/** The signing key's public half, as the stack hands it over (`TOKEN_JWKS`), and its private half for tests that play KMS. */
export const deployedSigningKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** The KMS keys only a deployed Lambda has. */
export const deployedKeyEnv = {
  [envVars.tokenJwks]: JSON.stringify({ keys: [publicJwkOf(deployedSigningKey.publicKey)] }),
  [envVars.dataKeyArn]: 'arn:aws:kms:eu-west-1:123456789012:key/mrk-1234',
  [envVars.signingKeyArn]: 'arn:aws:kms:eu-west-1:123456789012:key/sign',
  [envVars.emailMacKeyArn]: 'arn:aws:kms:eu-west-1:123456789012:key/mac',
};
