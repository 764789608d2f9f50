import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';

/** An RS256 public key as served by `/.well-known/jwks.json`. */
export interface PublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

/**
 * Signs access tokens. In AWS the private key never leaves KMS; offline it is a local key.
 * Either way the app sees only this interface, so the token code path is the same.
 */
export interface Signer {
  publicJwk(): Promise<PublicJwk>;
  /** RSASSA-PKCS1-v1_5 with SHA-256 over the message (the JWS signing input). */
  sign(message: Buffer): Promise<Buffer>;
}

/** The JWK of an RSA public key, with its RFC 7638 thumbprint as `kid`. */
export function publicJwkOf(key: KeyObject): PublicJwk {
  const { n, e } = key.export({ format: 'jwk' }) as { n: string; e: string };
  const kid = createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
  return { kty: 'RSA', n, e, kid, alg: 'RS256', use: 'sig' };
}

/** KMS asymmetric key (RSA_2048, SIGN_VERIFY): one GetPublicKey per cold start, one Sign per token. */
export function createKmsSigner(kms: KMSClient, keyArn: string): Signer {
  let jwk: Promise<PublicJwk> | undefined;
  return {
    publicJwk() {
      jwk ??= kms.send(new GetPublicKeyCommand({ KeyId: keyArn })).then(({ PublicKey }) => {
        if (!PublicKey) throw new Error('KMS returned no public key for the signing key');
        return publicJwkOf(createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' }));
      });
      jwk.catch(() => (jwk = undefined));
      return jwk;
    },
    async sign(message) {
      const { Signature } = await kms.send(
        new SignCommand({ KeyId: keyArn, Message: message, MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }),
      );
      if (!Signature) throw new Error('KMS returned no signature');
      return Buffer.from(Signature);
    },
  };
}
