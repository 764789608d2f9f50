import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { X509Certificate } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../core/clock';
import type { AppConfig, AwsKeyConfig } from '../core/config';
import type { Deps } from '../services/deps';
import { appleKeyFromSecret, createAppleIdClient } from '../domain/identity/apple-id';
import { createIdTokenVerifier } from '../domain/identity/id-tokens';
import { createMetrics } from '../core/metrics';
import { once } from '../core/once';
import { createKmsSigner } from '../domain/identity/signer';
import { createKmsEmailMac } from '../domain/users/email-mac';
import { createPiiCipher } from '../domain/users/pii-cipher';
import { appleRootCaG3 } from '../domain/subscriptions/apple-root-ca-g3';
import { createGooglePushVerifier } from '../domain/subscriptions/google-push';
import { serviceAccountAccessToken } from '../domain/subscriptions/google-service-account';
import { createPlayDeveloperClient } from '../domain/subscriptions/play-developer-client';

/**
 * Dependencies in AWS: every client pinned to the zone's own region (residency), the KMS keys
 * from the stack, the identity providers' real key sets.
 */
export function createAwsDeps(config: AppConfig, keys: AwsKeyConfig, logger: Logger): Deps {
  const region = config.region;
  // One client for signing, MACs and the Encryption SDK keyring (which wants the aggregated `KMS`),
  // loaded by the first request that needs a key: verifying a token needs none.
  const kms = once(() => import('@aws-sdk/client-kms').then(({ KMS }) => new KMS({ region, maxAttempts: 3 })));
  const dataKeys = once(async () => {
    const { AwsKmsMrkAwareSymmetricKeyringNode, getLocalCryptographicMaterialsCache, NodeCachingMaterialsManager } =
      await import('../domain/users/encryption-sdk');
    return new NodeCachingMaterialsManager({
      backingMaterials: new AwsKmsMrkAwareSymmetricKeyringNode({ client: await kms(), keyId: keys.dataKeyArn }),
      cache: getLocalCryptographicMaterialsCache(1000),
      // Reuse a data key for a few minutes: fewer KMS calls, a short exposure window.
      maxAge: 5 * 60 * 1000,
      maxMessagesEncrypted: 100,
    });
  });
  const play = config.googlePlay;
  return {
    config,
    clock: systemClock,
    logger,
    metrics: createMetrics(),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region, maxAttempts: 3 }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    model: async () => {
      const [{ createBedrockClient }, { createBedrockModel }] = await Promise.all([
        import('../bedrock/bedrock-client'),
        import('../bedrock/bedrock-model'),
      ]);
      return createBedrockModel(createBedrockClient(config), config.modelId);
    },
    chatModel: async () => {
      const [{ createBedrockClient }, { createBedrockChatModel }] = await Promise.all([
        import('../bedrock/bedrock-client'),
        import('../bedrock/bedrock-chat-stream'),
      ]);
      return createBedrockChatModel(createBedrockClient(config), config.modelId);
    },
    s3: once(() => import('@aws-sdk/client-s3').then(({ S3Client }) => new S3Client({ region, maxAttempts: 3 }))),
    signer: createKmsSigner(kms, keys.signingKeyArn, keys.signingPublicJwk),
    emailMac: createKmsEmailMac(kms, keys.emailMacKeyArn),
    pii: createPiiCipher(dataKeys, config.usersTable),
    idTokens: createIdTokenVerifier({ google: config.googleClientIds, apple: config.appleClientIds }),
    appleId: keys.appleSignInSecretArn
      ? createAppleIdClient({
          baseUrl: config.appleIdApiUrl,
          key: appleKeyFromSecret(region, keys.appleSignInSecretArn),
          clock: systemClock,
        })
      : undefined,
    subscriptions: {
      appStoreRoots: [new X509Certificate(Buffer.from(appleRootCaG3, 'base64'))],
      verifyGooglePush:
        play && createGooglePushVerifier({ audience: play.pushAudience, serviceAccount: play.pushServiceAccount }),
      play:
        play && keys.playCredentialsSecretArn
          ? createPlayDeveloperClient({
              baseUrl: play.developerApiUrl,
              accessToken: serviceAccountAccessToken(region, keys.playCredentialsSecretArn, systemClock),
            })
          : undefined,
    },
  };
}
