import type { X509Certificate } from 'node:crypto';

/** DER encoding of an object identifier's value, e.g. `1.2.840.113635.100.6.11.1`. */
function encodeOid(oid: string): Buffer {
  const [first = 0, second = 0, ...rest] = oid.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return Buffer.from(bytes);
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(der: Buffer, offset: number): Tlv {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('Unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[offset + 2 + i]!;
    header += octets;
  }
  const end = offset + header + length;
  if (end > der.length) throw new Error('Truncated DER');
  return { tag, start: offset + header, end };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = readTlv(der, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/**
 * Whether the certificate carries an extension with this OID. Node's X509Certificate does not
 * list arbitrary extensions, so this walks the DER: Certificate → TBSCertificate → [3] extensions.
 */
export function hasExtension(cert: X509Certificate, oid: string): boolean {
  const der = cert.raw;
  const wanted = encodeOid(oid);
  const [tbs] = children(der, readTlv(der, 0));
  const extensions = tbs && children(der, tbs).find((c) => c.tag === 0xa3);
  if (!extensions) return false;
  const [list] = children(der, extensions);
  return children(der, list!).some((extension) => {
    const [id] = children(der, extension);
    return id?.tag === 0x06 && der.subarray(id.start, id.end).equals(wanted);
  });
}
