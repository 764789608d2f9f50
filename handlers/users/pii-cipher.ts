import { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy, type KeyringNode, type NodeMaterialsManager } from '@aws-crypto/client-node';

/** The profile attributes that hold personal data and are never stored in plaintext. */
export const piiAttributes = ['email', 'name', 'given_name', 'family_name', 'device_id', 'apple_refresh_token'] as const;
export type PiiAttribute = (typeof piiAttributes)[number];

/**
 * Encrypts each PII field with the AWS Encryption SDK. The encryption context binds the
 * ciphertext to its table, item and attribute, so a value copied to another user or another
 * attribute does not decrypt. The keyring (KMS in AWS, raw AES offline) is the only difference.
 */
export interface PiiCipher {
  seal(userId: string, attribute: PiiAttribute, plaintext: string): Promise<string>;
  open(userId: string, attribute: PiiAttribute, ciphertext: string): Promise<string>;
}

export function createPiiCipher(materials: KeyringNode | NodeMaterialsManager, table: string): PiiCipher {
  const { encrypt, decrypt } = buildClient({
    commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
    maxEncryptedDataKeys: 1,
  });
  const contextOf = (userId: string, attribute: PiiAttribute) => ({
    'serenya:table': table,
    'serenya:key': `USER#${userId}`,
    'serenya:attribute': attribute,
  });
  return {
    async seal(userId, attribute, plaintext) {
      const { result } = await encrypt(materials, plaintext, {
        encryptionContext: contextOf(userId, attribute),
        // Key-committing AES-GCM without the default ECDSA signature: writer and reader are the
        // same service, and a P-384 signature per field cost ~10 ms on every profile read.
        suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
      });
      return result.toString('base64');
    },
    async open(userId, attribute, ciphertext) {
      const { plaintext, messageHeader } = await decrypt(materials, Buffer.from(ciphertext, 'base64'));
      // Decrypt does not check the context against an expectation; we must.
      const expected = contextOf(userId, attribute);
      for (const [k, v] of Object.entries(expected)) {
        if (messageHeader.encryptionContext[k] !== v) throw new Error(`PII ciphertext is bound to another ${k}`);
      }
      return plaintext.toString('utf8');
    },
  };
}
