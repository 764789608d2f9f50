import { createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node';
import type { Signer } from '../../handlers/domain/identity/signer';
import { publicJwkOf } from '../../contract';
import type { EmailMac } from '../../handlers/domain/users/email-mac';
import type { LocalKeys } from '../local-keys';
import { checkGenerateMac, checkSign } from './kms-limits';

/**
 * The offline keys behind the same interfaces KMS serves in AWS, refusing what KMS refuses: a
 * message KMS would not MAC or sign fails here with KMS's ValidationException. The data keyring
 * is the Encryption SDK's raw AES keyring: it asks for no data key of a size of its own choosing,
 * so the KMS limits it could meet are the stand-in's (`local/stand-ins/kms-stand-in.ts`).
 */
export function createLocalKeyServices(keys: LocalKeys) {
  const signingKey = createPrivateKey(keys.signingKeyPem);
  const jwk = publicJwkOf(createPublicKey(signingKey));
  const signer: Signer = {
    publicJwk: async () => jwk,
    async sign(message) {
      checkSign({ Message: message, MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
      return sign('sha256', message, signingKey);
    },
  };
  const emailMac: EmailMac = {
    async mac(message) {
      const bytes = Buffer.from(message);
      checkGenerateMac({ Message: bytes });
      return createHmac('sha256', keys.emailMacKey).update(bytes).digest('base64url');
    },
  };
  const dataKeyring = new RawAesKeyringNode({
    keyNamespace: 'serenya-local',
    keyName: 'data-key',
    // The keyring wants a buffer of its own, not a view into Node's shared pool.
    unencryptedMasterKey: new Uint8Array(keys.dataWrappingKey),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  return { signer, emailMac, dataKeyring };
}
