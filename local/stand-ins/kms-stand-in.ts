import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  privateEncrypt,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { createServer } from 'node:http';
import { checkDecrypt, checkGenerateDataKey, checkGenerateMac, checkSign } from './kms-limits';
import { listenOnLoopback } from '../listen';

/** The DER prefix of a SHA-256 DigestInfo (RFC 8017, 9.2 note 1). */
const digestInfo = Buffer.from('3031300d060960864801650304020105000420', 'hex');
/** An error KMS answers with, by its name. */
const kmsError = (name: string, message: string) => Object.assign(new Error(message), { name });

/** The zone's three keys, by the ids the functions name them with (their ARNs in the environment). */
export interface KmsStandInKeys {
  /** The symmetric data key (GenerateDataKey, Decrypt). */
  data: string;
  /** The RSA_2048 signing key (Sign), with its private half. */
  signing: { id: string; privateKey: KeyObject };
  /** The HMAC_256 email-MAC key (GenerateMac). */
  mac: string;
}

/** The MAC algorithm of an HMAC_256 key: the only one KMS takes for it. */
const macAlgorithm = 'HMAC_SHA_256';

/**
 * Just enough KMS (JSON 1.1 over HTTP) to run the real Lambda bundle and its dependencies —
 * KMS keyring, signer and email MAC — against loopback: GenerateDataKey, Decrypt, Sign,
 * GenerateMac — and as strict as KMS: about their inputs (`local/stand-ins/kms-limits.ts`,
 * ValidationException) and about keys (a key it does not hold is NotFoundException; a key used for
 * what its spec does not do, or a MAC algorithm its spec does not take, InvalidKeyUsageException).
 * It signs with the key whose public half the environment's TOKEN_JWKS holds, as the stack arranges
 * in AWS. The bench and the bundle's tests only: the offline platform swaps keyrings instead.
 */
export async function startKmsStandIn(keys: KmsStandInKeys) {
  const master = randomBytes(32);
  const macKey = randomBytes(32);
  const privateKey = keys.signing.privateKey;
  const usages: Record<string, 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC'> = {
    [keys.data]: 'ENCRYPT_DECRYPT',
    [keys.signing.id]: 'SIGN_VERIFY',
    [keys.mac]: 'GENERATE_VERIFY_MAC',
  };
  /** KMS's error when the key a request names is not held, or not made for `usage`. */
  const checkKey = (keyId: string, usage: string, operation: string) => {
    const held = Object.hasOwn(usages, keyId) ? usages[keyId] : undefined;
    if (!held) throw kmsError('NotFoundException', `Key '${keyId}' does not exist`);
    if (held !== usage)
      throw kmsError('InvalidKeyUsageException', `${keyId} key usage is ${held} which is not valid for ${operation}.`);
  };
  const aad = (context: Record<string, string> = {}) => Buffer.from(JSON.stringify(Object.entries(context).sort()));

  const bytes = (base64: unknown) => Buffer.from(typeof base64 === 'string' ? base64 : '', 'base64');
  const dataKeyBytes: Record<string, number> = { AES_128: 16, AES_256: 32 };
  const signingAlgorithm = 'RSASSA_PKCS1_V1_5_SHA_256';

  const ops: Record<string, (body: any) => object> = {
    GenerateDataKey({ KeyId = '', NumberOfBytes, KeySpec, EncryptionContext }) {
      checkGenerateDataKey({ KeyId, NumberOfBytes, KeySpec });
      checkKey(KeyId, 'ENCRYPT_DECRYPT', 'GenerateDataKey');
      const plaintext = randomBytes(NumberOfBytes ?? dataKeyBytes[KeySpec] ?? 32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master, iv).setAAD(aad(EncryptionContext));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const blob = Buffer.from(
        JSON.stringify({
          k: KeyId,
          iv: iv.toString('base64'),
          tag: cipher.getAuthTag().toString('base64'),
          ct: ct.toString('base64'),
        }),
      );
      return { KeyId, Plaintext: plaintext.toString('base64'), CiphertextBlob: blob.toString('base64') };
    },
    Decrypt({ KeyId, CiphertextBlob, EncryptionContext }) {
      checkDecrypt({ KeyId, CiphertextBlob: bytes(CiphertextBlob) });
      if (KeyId !== undefined) checkKey(KeyId, 'ENCRYPT_DECRYPT', 'Decrypt');
      try {
        const { k, iv, tag, ct } = JSON.parse(bytes(CiphertextBlob).toString());
        const decipher = createDecipheriv('aes-256-gcm', master, Buffer.from(iv, 'base64'));
        decipher.setAAD(aad(EncryptionContext));
        decipher.setAuthTag(Buffer.from(tag, 'base64'));
        const plaintext = Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]);
        return { KeyId: k, Plaintext: plaintext.toString('base64') };
      } catch {
        throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid for this key or context');
      }
    },
    Sign({ KeyId = '', Message, MessageType = 'RAW', SigningAlgorithm }) {
      const message = bytes(Message);
      checkSign({ KeyId, Message: message, MessageType, SigningAlgorithm });
      checkKey(KeyId, 'SIGN_VERIFY', 'Sign');
      if (SigningAlgorithm !== signingAlgorithm) {
        throw kmsError('UnsupportedOperationException', `The stand-in's key signs with ${signingAlgorithm} only`);
      }
      const signature = MessageType === 'RAW' ? sign('sha256', message, privateKey) : signDigest(message);
      return { KeyId, SigningAlgorithm, Signature: signature.toString('base64') };
    },
    GenerateMac({ KeyId = '', Message, MacAlgorithm }) {
      const message = bytes(Message);
      checkGenerateMac({ KeyId, Message: message });
      checkKey(KeyId, 'GENERATE_VERIFY_MAC', 'GenerateMac');
      if (MacAlgorithm !== macAlgorithm) {
        throw kmsError('InvalidKeyUsageException', `${KeyId} is an HMAC_256 key: it takes ${macAlgorithm} only.`);
      }
      return { KeyId, MacAlgorithm, Mac: createHmac('sha256', macKey).update(message).digest('base64') };
    },
  };
  /** RSASSA-PKCS1-v1_5 over a SHA-256 digest KMS is given (MessageType DIGEST): the DigestInfo, signed as is. */
  const signDigest = (digest: Buffer) =>
    privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([digestInfo, digest]));

  /** Calls per operation, for the AWS-calls rows. */
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      counts.set(op, (counts.get(op) ?? 0) + 1);
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      try {
        const answer = ops[op]?.(JSON.parse(Buffer.concat(chunks).toString() || '{}'));
        if (!answer) throw new Error(`unsupported ${op}`);
        res.end(JSON.stringify(answer));
      } catch (err) {
        // KMS's JSON error shape: the exception's name as `__type`, HTTP 400.
        res.statusCode = 400;
        const { name, message } = err as Error;
        res.end(JSON.stringify({ __type: name === 'Error' ? 'UnsupportedOperationException' : name, message }));
      }
    });
  });
  const { url, close } = await listenOnLoopback(server);
  return { endpoint: url, counts, stop: close };
}
