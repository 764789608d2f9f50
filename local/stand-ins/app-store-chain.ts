// @peculiar/x509 builds on tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createPrivateKey, KeyObject, randomUUID, sign, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { appleOids } from '../../handlers/domain/subscriptions/apple-jws';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** Apple's marker extensions carry an ASN.1 NULL. */
const marker = (oid: string) => new x509.Extension(oid, false, new Uint8Array([0x05, 0x00]));
const day = 86_400_000;

export interface TestChain {
  root: X509Certificate;
  x5c: string[];
  leafKey: KeyObject;
}

async function keys(namedCurve: 'P-256' | 'P-384' = 'P-256') {
  return (await webcrypto.subtle.generateKey({ ...algorithm, namedCurve }, true, ['sign', 'verify'])) as KeyPair;
}

/**
 * A certificate chain shaped like Apple's (root → WWDR-like intermediate → App Store leaf, with
 * Apple's marker OIDs), for the offline platform and the tests. Options break one thing at a time.
 */
export async function appleLikeChain(
  options: {
    leafMarker?: boolean;
    intermediateMarker?: boolean;
    leafExpired?: boolean;
    leafCurve?: 'P-256' | 'P-384';
    root?: { cert: x509.X509Certificate; keys: KeyPair };
  } = {},
) {
  const now = Date.now();
  const rootKeys = options.root?.keys ?? (await keys());
  const rootCert =
    options.root?.cert ??
    (await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Serenya Local Root CA - G3, O=Serenya Offline',
      notBefore: new Date(now - 365 * day),
      notAfter: new Date(now + 3650 * day),
      keys: rootKeys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    }));
  const issue = async (
    serialNumber: string,
    subject: string,
    issuer: { cert: x509.X509Certificate; keys: KeyPair },
    notAfter: Date,
    extensions: x509.Extension[],
    curve?: 'P-384',
  ) => {
    const certKeys = await keys(curve);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: issuer.cert.subject,
      notBefore: new Date(now - 200 * day),
      notAfter,
      signingKey: issuer.keys.privateKey,
      publicKey: certKeys.publicKey,
      signingAlgorithm: algorithm,
      extensions,
    });
    return { cert, keys: certKeys };
  };
  const intermediate = await issue(
    '02',
    'CN=Serenya Local WWDR CA, O=Serenya Offline',
    { cert: rootCert, keys: rootKeys },
    new Date(now + 3000 * day),
    [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ...(options.intermediateMarker === false ? [] : [marker(appleOids.intermediate)]),
    ],
  );
  const leaf = await issue(
    '03',
    'CN=Serenya Local App Store Signing, O=Serenya Offline',
    intermediate,
    options.leafExpired ? new Date(now - day) : new Date(now + 300 * day),
    [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...(options.leafMarker === false ? [] : [marker(appleOids.leaf)]),
    ],
    options.leafCurve === 'P-384' ? 'P-384' : undefined,
  );
  const der = (c: x509.X509Certificate) => Buffer.from(c.rawData).toString('base64');
  return {
    root: new X509Certificate(Buffer.from(rootCert.rawData)),
    rootMaterial: { cert: rootCert, keys: rootKeys },
    x5c: [der(leaf.cert), der(intermediate.cert), der(rootCert)],
    leafKey: KeyObject.from(leaf.keys.privateKey),
  };
}

/** A JWS as the App Store signs it: ES256, the chain in `x5c`. */
export function signAppleJws(chain: { x5c: string[]; leafKey: KeyObject }, payload: object): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'ES256', x5c: chain.x5c })}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: chain.leafKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * The offline platform's own "App Store": a chain made on first use into `<dir>/app-store.json`,
 * whose root `npm start` pins beside Apple's, so `npm run store-notification` can sign
 * notifications that verify offline. A deployed stack pins Apple's root alone.
 */
export async function loadOrCreateLocalAppStore(
  dir: string,
): Promise<{ root: X509Certificate; x5c: string[]; leafKey: KeyObject }> {
  const file = `${dir}/app-store.json`;
  if (!existsSync(file)) {
    const chain = await appleLikeChain();
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ x5c: chain.x5c, leafKey: chain.leafKey.export({ format: 'pem', type: 'pkcs8' }) }),
      { mode: 0o600 },
    );
  }
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { x5c: string[]; leafKey: string };
  return {
    root: new X509Certificate(Buffer.from(stored.x5c[2]!, 'base64')),
    x5c: stored.x5c,
    leafKey: createPrivateKey(stored.leafKey),
  };
}

/** An App Store Server Notification v2 for a Serenya user, signed like the App Store signs one. */
export function appStoreNotification(
  signer: { x5c: string[]; leafKey: KeyObject },
  n: {
    /** The profile's `storeAccountToken`, which the app sets as the purchase's `appAccountToken`. */
    accountToken: string;
    bundleId: string;
    environment: string;
    type?: string;
    subtype?: string;
    signedDate?: number;
    expires?: number;
    uuid?: string;
    /** @default `original-<accountToken>`: one purchase per account */
    originalTransactionId?: string;
  },
): { signedPayload: string } {
  const signedDate = n.signedDate ?? Date.now();
  const transaction = signAppleJws(signer, {
    transactionId: `tx-${signedDate}`,
    originalTransactionId: n.originalTransactionId ?? `original-${n.accountToken}`,
    bundleId: n.bundleId,
    productId: 'health.serenya.premium.monthly',
    purchaseDate: signedDate - 86_400_000,
    expiresDate: n.expires ?? signedDate + 30 * 86_400_000,
    type: 'Auto-Renewable Subscription',
    appAccountToken: n.accountToken,
    environment: n.environment,
    signedDate,
  });
  return {
    signedPayload: signAppleJws(signer, {
      notificationType: n.type ?? 'SUBSCRIBED',
      ...(n.subtype ? { subtype: n.subtype } : {}),
      notificationUUID: n.uuid ?? randomUUID(),
      version: '2.0',
      signedDate,
      data: { bundleId: n.bundleId, environment: n.environment, signedTransactionInfo: transaction, status: 1 },
    }),
  };
}
