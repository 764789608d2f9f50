import { verify, X509Certificate } from 'node:crypto';
import { hasExtension } from './x509-extensions';

/** Apple's marker extensions: the App Store receipt-signing leaf and the WWDR intermediate. */
export const appleOids = { leaf: '1.2.840.113635.100.6.11.1', intermediate: '1.2.840.113635.100.6.2.1' };

/** The JWS did not prove that Apple signed it. The reason is for logs; it never quotes the payload. */
export class UntrustedSignatureError extends Error {
  override name = 'UntrustedSignatureError';
}

const fail = (reason: string): never => {
  throw new UntrustedSignatureError(reason);
};

function decodeSegment(segment: string | undefined): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(segment ?? '', 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : fail('not a JSON object');
  } catch (err) {
    if (err instanceof UntrustedSignatureError) throw err;
    return fail('not JSON');
  }
}

/**
 * Verifies a JWS signed by the App Store as Apple's `SignedDataVerifier` does, on `node:crypto`:
 * ES256; an `x5c` chain of three whose root is exactly one of the pinned roots (never the chain's
 * own say-so); each link signed by the next and valid at the payload's `signedDate`; Apple's
 * marker extensions on the leaf and the intermediate; the signature by the leaf's key.
 */
export function verifyAppleJws(jws: string, pinnedRoots: X509Certificate[]): Record<string, unknown> {
  if (typeof jws !== 'string' || jws.length > 64 * 1024) fail('not a compact JWS');
  const parts = jws.split('.');
  if (parts.length !== 3) fail('not a compact JWS');
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  const header = decodeSegment(headerSegment);
  if (header.alg !== 'ES256') fail('algorithm is not ES256');
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length !== 3 || !x5c.every((c) => typeof c === 'string')) fail('x5c is not a chain of three');

  let chain: X509Certificate[] = [];
  try {
    chain = (x5c as string[]).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  } catch {
    fail('x5c holds a certificate that does not parse');
  }
  const [leaf, intermediate, root] = chain as [X509Certificate, X509Certificate, X509Certificate];
  if (!pinnedRoots.some((pinned) => pinned.raw.equals(root.raw))) fail('chain does not end in a pinned root');
  if (!intermediate.checkIssued(root) || !intermediate.verify(root.publicKey)) fail('intermediate not issued by the root');
  if (!leaf.checkIssued(intermediate) || !leaf.verify(intermediate.publicKey)) fail('leaf not issued by the intermediate');
  if (!intermediate.ca) fail('intermediate is not a CA');
  if (!hasExtension(leaf, appleOids.leaf)) fail('leaf lacks the App Store marker extension');
  if (!hasExtension(intermediate, appleOids.intermediate)) fail('intermediate lacks the Apple WWDR marker extension');

  const signature = Buffer.from(signatureSegment, 'base64url');
  const signed = verify('sha256', Buffer.from(`${headerSegment}.${payloadSegment}`), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!signed) fail('signature does not verify');

  const payload = decodeSegment(payloadSegment);
  const signedDate = typeof payload.signedDate === 'number' ? payload.signedDate : fail('no signedDate');
  for (const cert of chain) {
    if (signedDate < Date.parse(cert.validFrom) || signedDate > Date.parse(cert.validTo)) fail('a certificate was not valid at signedDate');
  }
  return payload;
}
