/**
 * What the API accepts for processing, with Bedrock Converse's limits: documents (PDF, text)
 * 4.5 MB, images 3.75 MB. The magic bytes are checked by the worker, because S3 enforces the
 * presigned POST's content type as a label only, not as the file's real kind.
 */
export const documentTypes = {
  'application/pdf': { kind: 'document', format: 'pdf', maxBytes: 4_500_000 },
  'text/plain': { kind: 'document', format: 'txt', maxBytes: 4_500_000 },
  'image/png': { kind: 'image', format: 'png', maxBytes: 3_750_000 },
  'image/jpeg': { kind: 'image', format: 'jpeg', maxBytes: 3_750_000 },
  'image/webp': { kind: 'image', format: 'webp', maxBytes: 3_750_000 },
} as const;

export type DocumentContentType = keyof typeof documentTypes;
export const documentContentTypes = Object.keys(documentTypes) as DocumentContentType[];

// An own property only: "toString" or "__proto__" is in every object, never a document type.
export const isDocumentContentType = (type: string): type is DocumentContentType => Object.hasOwn(documentTypes, type);

const startsWith = (bytes: Uint8Array, signature: number[], offset = 0) =>
  signature.every((b, i) => bytes[offset + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** Whether the bytes really are what the upload declared. */
export function matchesDeclaredType(bytes: Uint8Array, type: DocumentContentType): boolean {
  if (bytes.length === 0) return false;
  switch (type) {
    case 'application/pdf':
      return startsWith(bytes, ascii('%PDF-'));
    case 'image/png':
      return startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    case 'image/jpeg':
      return startsWith(bytes, [0xff, 0xd8, 0xff]);
    case 'image/webp':
      return startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8);
    case 'text/plain':
      // Text is UTF-8 without NUL bytes; anything else is a binary file in disguise.
      if (bytes.includes(0)) return false;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        return true;
      } catch {
        return false;
      }
  }
}
