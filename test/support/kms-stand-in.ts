import { createCipheriv, createDecipheriv, createHmac, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { listenOnLoopback } from '../../local/listen';

/**
 * Just enough KMS (JSON 1.1 over HTTP) to run the real Lambda bundle and its dependencies —
 * KMS keyring, signer and email MAC — against loopback: GenerateDataKey, Decrypt, Sign,
 * GenerateMac. It signs with the key whose public half the environment's TOKEN_JWKS holds, as
 * the stack arranges in AWS. The bench and the bundle's tests only: the offline platform swaps
 * keyrings instead.
 */
export async function startKmsStandIn(signingKey: KeyObject) {
  const master = randomBytes(32);
  const macKey = randomBytes(32);
  const privateKey = signingKey;
  const aad = (context: Record<string, string> = {}) => Buffer.from(JSON.stringify(Object.entries(context).sort()));

  const ops: Record<string, (body: any) => object> = {
    GenerateDataKey({ KeyId, NumberOfBytes, EncryptionContext }) {
      const plaintext = randomBytes(NumberOfBytes ?? 32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master, iv).setAAD(aad(EncryptionContext));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const blob = Buffer.from(JSON.stringify({ k: KeyId, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ct: ct.toString('base64') }));
      return { KeyId, Plaintext: plaintext.toString('base64'), CiphertextBlob: blob.toString('base64') };
    },
    Decrypt({ CiphertextBlob, EncryptionContext }) {
      const { k, iv, tag, ct } = JSON.parse(Buffer.from(CiphertextBlob, 'base64').toString());
      const decipher = createDecipheriv('aes-256-gcm', master, Buffer.from(iv, 'base64')).setAAD(aad(EncryptionContext));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return { KeyId: k, Plaintext: Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('base64') };
    },
    Sign: ({ KeyId, Message }) => ({ KeyId, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256', Signature: sign('sha256', Buffer.from(Message, 'base64'), privateKey).toString('base64') }),
    GenerateMac: ({ KeyId, Message }) => ({ KeyId, MacAlgorithm: 'HMAC_SHA_256', Mac: createHmac('sha256', macKey).update(Buffer.from(Message, 'base64')).digest('base64') }),
  };

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
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'InvalidCiphertextException', message: (err as Error).message }));
      }
    });
  });
  const { url, close } = await listenOnLoopback(server);
  return { endpoint: url, counts, stop: close };
}
