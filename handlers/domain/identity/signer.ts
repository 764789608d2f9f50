import type { KMSClient } from '@aws-sdk/client-kms';
import type { PublicJwk } from '../../../contract';

/**
 * Signs access tokens. In AWS the private key never leaves KMS; offline it is a local key.
 * Either way the app sees only this interface, so the token code path is the same.
 */
export interface Signer {
  publicJwk(): Promise<PublicJwk>;
  /** RSASSA-PKCS1-v1_5 with SHA-256 over the message (the JWS signing input). */
  sign(message: Buffer): Promise<Buffer>;
}

/**
 * KMS asymmetric key (RSA_2048, SIGN_VERIFY): one Sign per token, nothing else. Its public key
 * comes from the stack (`TOKEN_JWKS`, read from KMS at deploy time), so verifying a token — also
 * at cold start — never calls KMS, and the KMS client loads with the first signature.
 */
export function createKmsSigner(kms: () => Promise<KMSClient>, keyArn: string, jwk: PublicJwk): Signer {
  return {
    publicJwk: async () => jwk,
    async sign(message) {
      const [client, { SignCommand }] = await Promise.all([kms(), import('@aws-sdk/client-kms')]);
      const { Signature } = await client.send(
        new SignCommand({
          KeyId: keyArn,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
        }),
      );
      if (!Signature) throw new Error('KMS returned no signature');
      return Buffer.from(Signature);
    },
  };
}
