/**
 * KMS's documented input limits for the operations the runtime calls (GenerateMac, Sign,
 * GenerateDataKey, Decrypt), spelled once for every KMS stand-in: a request KMS would refuse is
 * refused offline too, with KMS's error name and message (docs/limits.md lists them with their tests).
 */
export const kmsLimits = {
  /** GenerateMac and VerifyMac `Message`, Sign `Message` (KMS's PlaintextType: also Encrypt's plaintext). */
  messageBytes: { min: 1, max: 4096 },
  /** GenerateDataKey `NumberOfBytes`. */
  dataKeyBytes: { min: 1, max: 1024 },
  /** Decrypt `CiphertextBlob`. */
  ciphertextBytes: { min: 1, max: 6144 },
  /** `KeyId` of every operation. */
  keyIdLength: { min: 1, max: 2048 },
  /** The digest length a Sign with `MessageType: DIGEST` must have, by signing algorithm. */
  digestBytes: { SHA_256: 32, SHA_384: 48, SHA_512: 64 } as Record<string, number>,
} as const;

/** What KMS answers a request outside its limits: HTTP 400 `ValidationException`. */
export class KmsValidationError extends Error {
  override readonly name = 'ValidationException';
}

type Range = { min: number; max: number };

/** KMS's own wording: "1 validation error detected: Value at 'message' failed to satisfy constraint: …". */
const violation = (at: string, constraint: string) =>
  new KmsValidationError(`1 validation error detected: ${at} failed to satisfy constraint: Member must ${constraint}`);

/** A blob's or string's length; KMS names the value of a string, not of a blob. */
function checkLength(member: string, length: number, { min, max }: Range, value?: string) {
  const at = value === undefined ? `Value at '${member}'` : `Value '${value}' at '${member}'`;
  if (length < min) throw violation(at, `have length greater than or equal to ${min}`);
  if (length > max) throw violation(at, `have length less than or equal to ${max}`);
}

/** The key id, where the caller names one (the local key services have one key each). */
function checkKeyId(keyId: string | undefined) {
  if (keyId !== undefined) checkLength('keyId', keyId.length, kmsLimits.keyIdLength, keyId);
}

/** GenerateMac (and VerifyMac): the message is 1..4096 bytes; larger messages are MACed as a digest. */
export function checkGenerateMac(request: { KeyId?: string; Message: Uint8Array }) {
  checkKeyId(request.KeyId);
  checkLength('message', request.Message.length, kmsLimits.messageBytes);
}

/** Sign: a RAW message is 1..4096 bytes; a DIGEST is exactly the algorithm's hash length. */
export function checkSign(request: {
  KeyId?: string;
  Message: Uint8Array;
  MessageType?: string;
  SigningAlgorithm: string;
}) {
  checkKeyId(request.KeyId);
  checkLength('message', request.Message.length, kmsLimits.messageBytes);
  if (request.MessageType === 'DIGEST') {
    const hash = /SHA_(256|384|512)$/.exec(request.SigningAlgorithm)?.[0];
    if (!hash || request.Message.length !== kmsLimits.digestBytes[hash]) {
      throw new KmsValidationError(`Digest is invalid length for algorithm ${request.SigningAlgorithm}.`);
    }
  }
}

/** GenerateDataKey: exactly one of `KeySpec` and `NumberOfBytes`, the latter 1..1024. */
export function checkGenerateDataKey(request: { KeyId?: string; NumberOfBytes?: number; KeySpec?: string }) {
  checkKeyId(request.KeyId);
  if ((request.NumberOfBytes === undefined) === (request.KeySpec === undefined)) {
    throw new KmsValidationError('Please specify either number of bytes or key spec.');
  }
  const n = request.NumberOfBytes;
  if (n === undefined) return;
  const { min, max } = kmsLimits.dataKeyBytes;
  if (n < min) throw violation(`Value '${n}' at 'numberOfBytes'`, `have value greater than or equal to ${min}`);
  if (n > max) throw violation(`Value '${n}' at 'numberOfBytes'`, `have value less than or equal to ${max}`);
}

/** Decrypt: the ciphertext blob is 1..6144 bytes. */
export function checkDecrypt(request: { KeyId?: string; CiphertextBlob: Uint8Array }) {
  checkKeyId(request.KeyId);
  checkLength('ciphertextBlob', request.CiphertextBlob.length, kmsLimits.ciphertextBytes);
}
