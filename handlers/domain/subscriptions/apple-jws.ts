import { verify, X509Certificate } from 'node:crypto';
import { hasExtension } from './x509-extensions';
import { DomainError } from '../../core/errors';

/** Apple's marker extensions: the App Store receipt-signing leaf and the WWDR intermediate. */
export const appleOids = { leaf: '1.2.840.113635.100.6.11.1', intermediate: '1.2.840.113635.100.6.2.1' };

/** The JWS did not prove that Apple signed it. The reason is for logs; it never quotes the payload. */
export class UntrustedSignatureError extends DomainError {
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

/** Apple retries a notification for about three days; anything signed longer ago is not fresh. */
export const MAX_SIGNED_AGE_MS = 7 * 86_400_000;
/** Slack for Apple's clock against ours. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Verifies a JWS signed by the App Store as Apple's `SignedDataVerifier` does, on `node:crypto`:
 * ES256; an `x5c` of exactly three certificates (leaf, intermediate, root); the leaf and
 * the intermediate, the intermediate issued by one of the pinned roots (the chain's own third
 * certificate is neither parsed nor trusted for anything, as in Apple's); the leaf's key EC P-256;
 * Apple's marker extensions on the leaf and the intermediate; the signature by the leaf's key.
 * Apple's verifier also asks OCSP whether the leaf was revoked; without that online check, the
 * chain must be valid now as well as at `signedDate`, and `signedDate` recent (`maxAgeMs`).
 */
export function verifyAppleJws(
  jws: string,
  pinnedRoots: X509Certificate[],
  options: { now: Date; maxAgeMs?: number } = { now: new Date() },
): Record<string, unknown> {
  if (typeof jws !== 'string' || jws.length > 64 * 1024) fail('not a compact JWS');
  const parts = jws.split('.');
  if (parts.length !== 3) fail('not a compact JWS');
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  const header = decodeSegment(headerSegment);
  if (header.alg !== 'ES256') fail('algorithm is not ES256');
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || !x5c.every((c) => typeof c === 'string')) fail('x5c is not a certificate chain');
  // Apple's verifier refuses any other length (INVALID_CHAIN_LENGTH): what it refuses, we refuse.
  if ((x5c as string[]).length !== 3) fail('x5c is not three certificates');

  let chain: X509Certificate[] = [];
  try {
    chain = (x5c as string[]).slice(0, 2).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  } catch {
    fail('x5c holds a certificate that does not parse');
  }
  const [leaf, intermediate] = chain as [X509Certificate, X509Certificate];
  const root = pinnedRoots.find((pinned) => intermediate.checkIssued(pinned) && intermediate.verify(pinned.publicKey));
  if (!root) fail('intermediate not issued by a pinned root');
  if (!leaf.checkIssued(intermediate) || !leaf.verify(intermediate.publicKey))
    fail('leaf not issued by the intermediate');
  if (!intermediate.ca) fail('intermediate is not a CA');
  if (!hasExtension(leaf, appleOids.leaf)) fail('leaf lacks the App Store marker extension');
  if (!hasExtension(intermediate, appleOids.intermediate)) fail('intermediate lacks the Apple WWDR marker extension');
  const key = leaf.publicKey.asymmetricKeyDetails;
  if (leaf.publicKey.asymmetricKeyType !== 'ec' || key?.namedCurve !== 'prime256v1') fail('leaf key is not EC P-256');

  const signature = Buffer.from(signatureSegment, 'base64url');
  const signed = verify(
    'sha256',
    Buffer.from(`${headerSegment}.${payloadSegment}`),
    { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!signed) fail('signature does not verify');

  const payload = decodeSegment(payloadSegment);
  const signedDate = typeof payload.signedDate === 'number' ? payload.signedDate : fail('no signedDate');
  const now = options.now.getTime();
  const validAt = (when: number) => (cert: X509Certificate) =>
    when >= Date.parse(cert.validFrom) && when <= Date.parse(cert.validTo);
  const certificates = [leaf, intermediate, root!];
  if (!certificates.every(validAt(signedDate))) fail('a certificate was not valid at signedDate');
  if (!certificates.every(validAt(now))) fail('a certificate is not valid now');
  if (signedDate > now + CLOCK_SKEW_MS) fail('signedDate is in the future');
  if (options.maxAgeMs !== undefined && signedDate < now - options.maxAgeMs) fail('signedDate is too old');
  return payload;
}
