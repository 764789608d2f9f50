import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  GenerateMacCommand,
  KMSClient,
  SignCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalKeyServices } from '../../local/stand-ins/key-services';
import { generateLocalKeys } from '../../local/local-keys';
import { kmsLimits } from '../../local/stand-ins/kms-limits';
import { startKmsStandIn } from '../../local/stand-ins/kms-stand-in';

/**
 * Every KMS stand-in refuses what KMS refuses, with KMS's error: the local key services of the
 * offline platform and the HTTP stand-in the Lambda bundle runs against. Without this, a request
 * that fails in AWS (a 5 KB message to GenerateMac) passes every offline test.
 */
const violation = (at: string, constraint: string) =>
  `1 validation error detected: ${at} failed to satisfy constraint: Member must ${constraint}`;
const tooLong = (member: string, max: number) =>
  violation(`Value at '${member}'`, `have length less than or equal to ${max}`);
const tooShort = (member: string, min: number) =>
  violation(`Value at '${member}'`, `have length greater than or equal to ${min}`);
const { max: maxMessage } = kmsLimits.messageBytes;
const refused = (message?: string) => ({ name: 'ValidationException', ...(message && { message }) });

describe('the offline key services (npm start and the tests)', () => {
  const keys = createLocalKeyServices(generateLocalKeys());

  it(`MAC a message of 1..${maxMessage} bytes, like GenerateMac, and refuse others with KMS's error`, async () => {
    await expect(keys.emailMac.mac('a'.repeat(maxMessage))).resolves.toMatch(/^[\w-]{43}$/);
    const tooMuch = keys.emailMac.mac('a'.repeat(maxMessage + 1));
    await expect(tooMuch).rejects.toMatchObject(refused(tooLong('message', maxMessage)));
    // Bytes, not characters: 2,049 two-byte characters are 4,098 bytes.
    await expect(keys.emailMac.mac('é'.repeat(2049))).rejects.toMatchObject(refused());
    await expect(keys.emailMac.mac('')).rejects.toMatchObject(refused(tooShort('message', 1)));
  });

  it(`sign a RAW message of 1..${maxMessage} bytes, like Sign, and refuse others`, async () => {
    await expect(keys.signer.sign(Buffer.alloc(maxMessage, 1))).resolves.toBeInstanceOf(Buffer);
    const tooMuch = keys.signer.sign(Buffer.alloc(maxMessage + 1, 1));
    await expect(tooMuch).rejects.toMatchObject(refused(tooLong('message', maxMessage)));
  });
});

describe('the KMS stand-in (the Lambda bundle, through the real SDK)', () => {
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let kms: Awaited<ReturnType<typeof startKmsStandIn>>;
  let client: KMSClient;
  const key = (id: string) => `arn:aws:kms:eu-west-1:111122223333:key/${id}`;
  const KeyId = key('1234abcd-12ab-34cd-56ef-1234567890ab');
  const SigningKeyId = key('sign');
  const MacKeyId = key('mac');
  beforeAll(async () => {
    kms = await startKmsStandIn({ data: KeyId, signing: { id: SigningKeyId, privateKey: signingKey }, mac: MacKeyId });
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    client = new KMSClient({ endpoint: kms.endpoint, region: 'eu-west-1', credentials, maxAttempts: 1 });
  });
  afterAll(() => kms.stop());
  /** The error KMS answers with (HTTP 400), as the SDK hands it to the runtime. */
  const refusal = async (request: Promise<unknown>) => {
    type KmsError = { name: string; message: string; $metadata: { httpStatusCode?: number } };
    const err = await request.then(
      () => undefined,
      (e: unknown) => e as KmsError,
    );
    expect(err, 'KMS refuses this request').toBeDefined();
    expect(err!.$metadata.httpStatusCode).toBe(400);
    return { name: err!.name, message: err!.message };
  };

  it('GenerateMac: a message of 1..4096 bytes, a key id of 1..2048 characters', async () => {
    const mac = (bytes: number, keyId = MacKeyId) =>
      client.send(
        new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.alloc(bytes, 7) }),
      );
    expect((await mac(maxMessage)).Mac).toHaveLength(32);
    expect(await refusal(mac(maxMessage + 1))).toEqual(refused(tooLong('message', maxMessage)));
    const longKeyId = 'k'.repeat(kmsLimits.keyIdLength.max + 1);
    expect(await refusal(mac(1, longKeyId))).toEqual(
      refused(violation(`Value '${longKeyId}' at 'keyId'`, 'have length less than or equal to 2048')),
    );
  });

  it('Sign: a RAW message of 1..4096 bytes, a DIGEST of exactly the algorithm’s hash length', async () => {
    const signing = (Message: Buffer, MessageType: 'RAW' | 'DIGEST' = 'RAW') =>
      client.send(
        new SignCommand({ KeyId: SigningKeyId, Message, MessageType, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }),
      );
    expect(await refusal(signing(Buffer.alloc(maxMessage + 1, 1)))).toEqual(refused(tooLong('message', maxMessage)));
    expect(await refusal(signing(Buffer.alloc(31, 1), 'DIGEST'))).toEqual(
      refused('Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_256.'),
    );
    // A message of 4,096 bytes and its digest sign alike, and verify with the key's public half.
    const message = Buffer.alloc(maxMessage, 7);
    const raw = Buffer.from((await signing(message)).Signature!);
    const digest = Buffer.from((await signing(createHash('sha256').update(message).digest(), 'DIGEST')).Signature!);
    expect(digest.equals(raw)).toBe(true);
    expect(verify('sha256', message, createPublicKey(signingKey), raw)).toBe(true);
  });

  it('GenerateDataKey: NumberOfBytes 1..1024, or a KeySpec, not both', async () => {
    const dataKey = (input: { NumberOfBytes?: number; KeySpec?: 'AES_256' }) =>
      client.send(new GenerateDataKeyCommand({ KeyId, ...input }));
    expect((await dataKey({ NumberOfBytes: 1024 })).Plaintext).toHaveLength(1024);
    expect((await dataKey({ KeySpec: 'AES_256' })).Plaintext).toHaveLength(32);
    expect(await refusal(dataKey({ NumberOfBytes: 1025 }))).toEqual(
      refused(violation(`Value '1025' at 'numberOfBytes'`, 'have value less than or equal to 1024')),
    );
    expect((await refusal(dataKey({ NumberOfBytes: 0 }))).name).toBe('ValidationException');
    expect((await refusal(dataKey({}))).name).toBe('ValidationException');
    expect((await refusal(dataKey({ NumberOfBytes: 32, KeySpec: 'AES_256' }))).name).toBe('ValidationException');
  });

  it('Decrypt: a ciphertext blob of 1..6144 bytes', async () => {
    const { max } = kmsLimits.ciphertextBytes;
    const tooBig = client.send(new DecryptCommand({ KeyId, CiphertextBlob: Buffer.alloc(max + 1, 1) }));
    expect(await refusal(tooBig)).toEqual(refused(tooLong('ciphertextBlob', max)));
    const { CiphertextBlob, Plaintext } = await client.send(new GenerateDataKeyCommand({ KeyId, NumberOfBytes: 32 }));
    const decrypted = await client.send(new DecryptCommand({ KeyId, CiphertextBlob }));
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.from(Plaintext!));
  });
  it('holds only the zone’s keys, each for its own use, and decrypts only with the key that encrypted', async () => {
    const other = key('not-a-key-of-this-zone');
    const dataKey = (keyId: string) => client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32 }));
    expect(await refusal(dataKey(other))).toEqual({
      name: 'NotFoundException',
      message: `Key '${other}' does not exist`,
    });
    expect((await refusal(dataKey(SigningKeyId))).name).toBe('InvalidKeyUsageException');
    const signWith = (keyId: string) =>
      client.send(
        new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }),
      );
    expect((await refusal(signWith(KeyId))).name).toBe('InvalidKeyUsageException');
    const macWith = (keyId: string, MacAlgorithm: 'HMAC_SHA_256' | 'HMAC_SHA_512' = 'HMAC_SHA_256') =>
      client.send(new GenerateMacCommand({ KeyId: keyId, MacAlgorithm, Message: Buffer.from('m') }));
    expect((await refusal(macWith(KeyId))).name).toBe('InvalidKeyUsageException');
    expect((await refusal(macWith(MacKeyId, 'HMAC_SHA_512'))).name).toBe('InvalidKeyUsageException');
    const { CiphertextBlob } = await dataKey(KeyId);
    expect((await refusal(client.send(new DecryptCommand({ KeyId: MacKeyId, CiphertextBlob })))).name).toBe(
      'InvalidKeyUsageException',
    );
    expect((await client.send(new DecryptCommand({ CiphertextBlob }))).KeyId, 'a ciphertext names its key').toBe(KeyId);
  });
});
