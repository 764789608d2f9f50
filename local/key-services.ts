import { createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/client-node';
import type { Signer } from '../handlers/identity/signer';
import { publicJwkOf } from '../contract';
import type { EmailMac } from '../handlers/users/email-mac';
import type { LocalKeys } from './keys';

/** The offline keys behind the same interfaces KMS serves in AWS. */
export function createLocalKeyServices(keys: LocalKeys) {
  const signingKey = createPrivateKey(keys.signingKeyPem);
  const jwk = publicJwkOf(createPublicKey(signingKey));
  const signer: Signer = {
    publicJwk: async () => jwk,
    sign: async (message) => sign('sha256', message, signingKey),
  };
  const emailMac: EmailMac = {
    mac: async (email) => createHmac('sha256', keys.emailMacKey).update(email).digest('base64url'),
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
