import type { KMSClient } from '@aws-sdk/client-kms';

/**
 * Keys the email index with an HMAC, not a bare hash: a sha256 of an email is a dictionary
 * lookup away from the email. In AWS the HMAC key never leaves KMS; offline it is a local key.
 */
export interface EmailMac {
  mac(normalizedEmail: string): Promise<string>;
}

export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

/** KMS HMAC key (HMAC_256, GENERATE_VERIFY_MAC). */
export function createKmsEmailMac(kms: () => Promise<KMSClient>, keyArn: string): EmailMac {
  return {
    async mac(normalizedEmail) {
      const [client, { GenerateMacCommand }] = await Promise.all([kms(), import('@aws-sdk/client-kms')]);
      const { Mac } = await client.send(
        new GenerateMacCommand({ KeyId: keyArn, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(normalizedEmail) }),
      );
      if (!Mac) throw new Error('KMS returned no MAC');
      return Buffer.from(Mac).toString('base64url');
    },
  };
}
