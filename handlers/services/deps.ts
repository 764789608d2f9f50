import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { X509Certificate } from 'node:crypto';
import type { AppConfig } from '../core/config';
import type { Clock } from '../core/clock';
import type { Signer } from '../domain/identity/signer';
import type { AppleIdClient } from '../domain/identity/apple-id';
import type { IdTokenVerifier } from '../domain/identity/id-tokens';
import type { ChatModel } from '../domain/jobs/chat-stream';
import type { Model } from '../domain/jobs/job';
import type { PiiCipher } from '../domain/users/pii-cipher';
import type { EmailMac } from '../domain/users/email-mac';
import type { PlayDeveloperClient } from '../domain/subscriptions/play-developer-client';

/**
 * Everything the runtime needs from the outside world, passed in once at the edge: Lambda
 * builds it from the environment (`aws-deps.ts`), `npm start` and the tests from the offline
 * stand-ins. Only endpoints and keys differ; the code that uses them is the same.
 */
export interface Deps {
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  /** CloudWatch metrics as embedded-metric-format log lines: no API calls, no PHI. */
  metrics: Metrics;
  dynamo: DynamoDBDocumentClient;
  /**
   * S3, loaded on first use: only the routes and functions that touch the buckets pay for the S3
   * client and its serializers, not every API cold start.
   */
  s3: () => Promise<S3Client>;
  /**
   * The model jobs run on, loaded by the first upload: the API's cold start never loads Bedrock's
   * client. A failed load is tried again by the next upload.
   */
  model: () => Promise<Model>;
  /** The model streamed chat answers run on, loaded by the first stream like `model`. */
  chatModel: () => Promise<ChatModel>;
  signer: Signer;
  pii: PiiCipher;
  emailMac: EmailMac;
  idTokens: IdTokenVerifier;
  /** Sign in with Apple's REST API; absent where the zone has no Sign in with Apple key. */
  appleId?: AppleIdClient;
  subscriptions: {
    /** The pinned roots App Store notifications must chain to: Apple Root CA G3 in AWS. */
    appStoreRoots: X509Certificate[];
    /** Verifies a Pub/Sub push token; absent when Google Play is not configured. */
    verifyGooglePush?: (authorization: string | undefined) => Promise<void>;
    /** Reads a subscription's state; absent when Google Play is not configured. */
    play?: PlayDeveloperClient;
  };
}
