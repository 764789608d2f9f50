import { itemKeys, piiEncryptionContext as ctx } from '../../../contract';
import type { KeyringNode, NodeMaterialsManager } from '@aws-crypto/client-node';
import { once } from '../../core/once';

/** The profile attributes that hold personal data and are never stored in plaintext. */
export const piiAttributes = [
  'email',
  'name',
  'given_name',
  'family_name',
  'device_id',
  'apple_refresh_token',
] as const;
export type PiiAttribute = (typeof piiAttributes)[number];

/** The format of a profile's personal fields sealed as one message (the version is in the context). */
export const profileRecordFormat = 'profile/2';

/**
 * Encrypts personal data with the AWS Encryption SDK. A profile's fields are sealed together as
 * one message (`sealRecord`): one data key, so a profile read costs one KMS call on a cache miss
 * and none on a hit. Single attributes (`seal`) remain for the Apple refresh token and for reading
 * profiles written one message per attribute. The encryption context binds the ciphertext to its
 * table, item and attribute or format, so a value copied to another user or attribute does not
 * decrypt. The keyring (KMS in AWS, raw AES offline) is the only difference.
 */
export interface PiiCipher {
  seal(userId: string, attribute: PiiAttribute, plaintext: string): Promise<string>;
  open(userId: string, attribute: PiiAttribute, ciphertext: string): Promise<string>;
  sealRecord(userId: string, record: Record<string, string>): Promise<string>;
  openRecord(userId: string, ciphertext: string): Promise<Record<string, string>>;
}

/**
 * `materials` is loaded with the Encryption SDK on the first seal or open: routes that touch no
 * personal data (health, jobs, subscriptions) never load either.
 */
export function createPiiCipher(
  materials: () => Promise<KeyringNode | NodeMaterialsManager>,
  table: string,
): PiiCipher {
  const sdk = once(async () => {
    const { AlgorithmSuiteIdentifier, buildClient, CommitmentPolicy } = await import('./encryption-sdk');
    const { encrypt, decrypt } = buildClient({
      commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
      maxEncryptedDataKeys: 1,
    });
    // Key-committing AES-GCM without the default ECDSA signature: writer and reader are the
    // same service, and a P-384 signature per message cost ~10 ms on every profile read.
    return {
      encrypt,
      decrypt,
      suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
      materials: await materials(),
    };
  });
  const contextOf = (userId: string, attribute: PiiAttribute) => ({
    [ctx.table]: table,
    [ctx.partition]: itemKeys.userPartition(userId),
    [ctx.attribute]: attribute,
  });
  const recordContextOf = (userId: string) => ({
    [ctx.table]: table,
    [ctx.partition]: itemKeys.userPartition(userId),
    [ctx.format]: profileRecordFormat,
  });
  async function sealWith(context: Record<string, string>, plaintext: string) {
    const { encrypt, suiteId, materials } = await sdk();
    const { result } = await encrypt(materials, plaintext, { encryptionContext: context, suiteId });
    return result.toString('base64');
  }
  async function openWith(expected: Record<string, string>, ciphertext: string) {
    const { decrypt, materials } = await sdk();
    const { plaintext, messageHeader } = await decrypt(materials, Buffer.from(ciphertext, 'base64'));
    // Decrypt does not check the context against an expectation; we must.
    for (const [k, v] of Object.entries(expected)) {
      if (messageHeader.encryptionContext[k] !== v) throw new Error(`PII ciphertext is bound to another ${k}`);
    }
    return plaintext.toString('utf8');
  }
  return {
    seal: (userId, attribute, plaintext) => sealWith(contextOf(userId, attribute), plaintext),
    open: (userId, attribute, ciphertext) => openWith(contextOf(userId, attribute), ciphertext),
    sealRecord: (userId, record) => sealWith(recordContextOf(userId), JSON.stringify(record)),
    openRecord: async (userId, ciphertext) =>
      JSON.parse(await openWith(recordContextOf(userId), ciphertext)) as Record<string, string>,
  };
}
