import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Key material the offline platform uses where AWS would use KMS. Never used in a stack. */
export interface LocalKeys {
  /** AES-256 wrapping key of the raw AES keyring (stands in for the KMS data key). */
  dataWrappingKey: Buffer;
  /** HMAC key of the email index (stands in for the KMS HMAC key). */
  emailMacKey: Buffer;
  /** RSA key that signs access tokens (stands in for the KMS signing key). */
  signingKeyPem: string;
  /** RSA key of the local identity provider that stands in for Google and Apple. */
  identityProviderKeyPem: string;
}

const rsaPem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

export function generateLocalKeys(): LocalKeys {
  return {
    dataWrappingKey: randomBytes(32),
    emailMacKey: randomBytes(32),
    signingKeyPem: rsaPem(),
    identityProviderKeyPem: rsaPem(),
  };
}

const keysFile = (dir: string) => join(dir, 'keys.json');

/** Whether `dir` holds local keys already (else the next `loadOrCreateLocalKeys` makes new ones). */
export const localKeysExist = (dir: string): boolean => existsSync(keysFile(dir));

/** Keys in `<dir>/keys.json`, made on first use and kept across restarts (readable by the owner only). */
export function loadOrCreateLocalKeys(dir: string): LocalKeys {
  const file = keysFile(dir);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    return {
      dataWrappingKey: Buffer.from(stored.dataWrappingKey, 'base64'),
      emailMacKey: Buffer.from(stored.emailMacKey, 'base64'),
      signingKeyPem: stored.signingKeyPem,
      identityProviderKeyPem: stored.identityProviderKeyPem,
    };
  }
  const keys = generateLocalKeys();
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({
      ...keys,
      dataWrappingKey: keys.dataWrappingKey.toString('base64'),
      emailMacKey: keys.emailMacKey.toString('base64'),
    }),
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
  return keys;
}
