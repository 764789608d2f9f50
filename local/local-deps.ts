import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { systemClock, type Clock } from '../handlers/core/clock';
import type { AppConfig } from '../handlers/core/config';
import type { Deps } from '../handlers/services/deps';
import { createAppleIdClient, type AppleSignInKey } from '../handlers/domain/identity/apple-id';
import { createIdTokenVerifier } from '../handlers/domain/identity/id-tokens';
import { createMetrics } from '../handlers/core/metrics';
import { createBedrockClient } from '../handlers/bedrock/bedrock-client';
import { createBedrockChatModel } from '../handlers/bedrock/bedrock-chat-stream';
import { createBedrockModel } from '../handlers/bedrock/bedrock-model';
import { createPiiCipher } from '../handlers/domain/users/pii-cipher';
import { X509Certificate } from 'node:crypto';
import { appleRootCaG3 } from '../handlers/domain/subscriptions/apple-root-ca-g3';
import { createGooglePushVerifier } from '../handlers/domain/subscriptions/google-push';
import { createPlayDeveloperClient } from '../handlers/domain/subscriptions/play-developer-client';
import { createLocalIdentityProvider } from './stand-ins/identity-provider';
import { createLocalKeyServices } from './stand-ins/key-services';
import type { LocalKeys } from './local-keys';

/** Credentials the stand-ins accept; they are not AWS credentials and reach nothing else. */
export const localCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalEndpoints {
  dynamodb: string;
  s3: string;
  bedrock: string;
}

/** The real SDK clients, pointed at the stand-ins on loopback. */
function createLocalClients(endpoints: LocalEndpoints, region: string) {
  const dynamoClient = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials: localCredentials });
  return {
    dynamoClient,
    /** The users table's stream, which Lambda's event source mapping reads in AWS (`stand-ins/stream-poller.ts`). */
    streams: new DynamoDBStreamsClient({ endpoint: endpoints.dynamodb, region, credentials: localCredentials }),
    dynamo: DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
    s3: new S3Client({
      endpoint: endpoints.s3,
      region,
      credentials: localCredentials,
      forcePathStyle: true,
      // s3rver predates the SDK's default CRC32 checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  };
}

/** The app's dependencies offline: same interfaces as `handlers/edge/aws-deps.ts`, local endpoints and keys. */
export function createLocalDeps(options: {
  config: AppConfig;
  endpoints: LocalEndpoints;
  keys: LocalKeys;
  logger: Logger;
  clock?: Clock;
  /** Roots App Store notifications must chain to; tests pin their own. @default Apple Root CA G3 */
  appStoreRoots?: X509Certificate[];
  /** The Sign in with Apple stand-in and the app's local key. @default none: authorization codes are ignored */
  appleId?: { url: string; key: AppleSignInKey };
}) {
  const { config, keys } = options;
  const clients = createLocalClients(options.endpoints, config.region);
  const keyServices = createLocalKeyServices(keys);
  const identityProvider = createLocalIdentityProvider(keys.identityProviderKeyPem, {
    google: config.googleClientIds[0] ?? '',
    apple: config.appleClientIds[0] ?? '',
  });
  // The worker's Bedrock client: the same builder as in AWS, pointed at the stand-in.
  const bedrock = createBedrockClient(config, { endpoint: options.endpoints.bedrock, credentials: localCredentials });
  const deps: Deps = {
    config,
    clock: options.clock ?? systemClock,
    logger: options.logger,
    metrics: createMetrics(),
    dynamo: clients.dynamo,
    s3: async () => clients.s3,
    model: async () => createBedrockModel(bedrock, config.modelId),
    chatModel: async () => createBedrockChatModel(bedrock, config.modelId),
    signer: keyServices.signer,
    emailMac: keyServices.emailMac,
    pii: createPiiCipher(async () => keyServices.dataKeyring, config.usersTable),
    idTokens: createIdTokenVerifier(
      { google: config.googleClientIds, apple: config.appleClientIds },
      identityProvider.jwksCache,
    ),
    // The same client as in AWS, pointed at the stand-in, with the local key in place of the secret.
    appleId:
      options.appleId &&
      createAppleIdClient({
        baseUrl: options.appleId.url,
        key: async () => options.appleId!.key,
        clock: options.clock ?? systemClock,
        // The token endpoint's id_token, signed offline by the local identity provider's key.
        jwksCache: identityProvider.jwksCache,
      }),
    subscriptions: {
      appStoreRoots: options.appStoreRoots ?? [new X509Certificate(Buffer.from(appleRootCaG3, 'base64'))],
      // Push tokens are signed with Google's ID-token keys; offline the local identity provider's.
      verifyGooglePush:
        config.googlePlay &&
        createGooglePushVerifier(
          { audience: config.googlePlay.pushAudience, serviceAccount: config.googlePlay.pushServiceAccount },
          identityProvider.jwksCache,
        ),
      play:
        config.googlePlay &&
        createPlayDeveloperClient({ baseUrl: config.googlePlay.developerApiUrl, accessToken: async () => 'offline' }),
    },
  };
  return { deps, clients, identityProvider, bedrock };
}
