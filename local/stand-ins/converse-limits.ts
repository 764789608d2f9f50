/**
 * Bedrock Converse's documented request limits, spelled once for the Bedrock stand-in (Bedrock API
 * Reference: "Message", "DocumentBlock", "ImageBlock"; docs/limits.md lists them with their tests).
 */
export const converseLimits = {
  /** Documents in one request, and each one's bytes. */
  documents: 5,
  documentBytes: 4_500_000,
  /** Images in one request, each one's bytes, and its height and width in pixels. */
  images: 20,
  imageBytes: 3_750_000,
  imagePixels: 8000,
  /** A document's name: 1..200 characters of these, never two whitespace characters in a row. */
  documentName: { length: 200, characters: /^[A-Za-z0-9\s\-()[\]]+$/, consecutiveWhitespace: /\s\s/ },
  documentFormats: ['pdf', 'csv', 'doc', 'docx', 'xls', 'xlsx', 'html', 'txt', 'md'],
  imageFormats: ['png', 'jpeg', 'gif', 'webp'],
  /** Tool names: `[a-zA-Z0-9_-]+`, 1..64 characters. */
  toolName: /^[a-zA-Z0-9_-]{1,64}$/,
} as const;

const addText = 'Add text to the text field, and try again.';
const enumViolation = (value: unknown, at: string, set = '') =>
  `Value '${value}' at '${at}' failed to satisfy constraint: Member must satisfy enum value set${set}`;

const startWithUser =
  'A conversation must start with a user message. Try again with a conversation that starts with a user message.';

/** A Converse request as the SDK sends it (JSON, blobs in base64). */
interface ConverseBody {
  messages?: Array<{ role?: string; content?: Array<Record<string, any>> }>;
  system?: Array<{ text?: string }>;
  toolConfig?: { tools?: Array<{ toolSpec?: { name?: string } }>; toolChoice?: { tool?: { name?: string } } };
  inferenceConfig?: { maxTokens?: number };
}

/**
 * What Bedrock answers a Converse request outside its limits: the `ValidationException` message,
 * or undefined when the request is within them. The role and blank-text messages are Bedrock's
 * own words; the others say the documented limit in the same style.
 */
export function validateConverseRequest(body: ConverseBody): string | undefined {
  const messages = body.messages ?? [];
  if (!messages.length) return startWithUser;
  let documents = 0;
  let images = 0;
  for (const [m, message] of messages.entries()) {
    if (message.role !== 'user' && message.role !== 'assistant') {
      return enumViolation(message.role, `messages.${m + 1}.member.role`, ': [user, assistant]');
    }
    if (m === 0 && message.role !== 'user') return startWithUser;
    if (m > 0 && message.role === messages[m - 1]!.role) {
      return (
        'A conversation must alternate between user and assistant roles. ' +
        'Make sure the conversation alternates between user and assistant roles and try again.'
      );
    }
    const content = message.content ?? [];
    if (!content.length) {
      const fix = 'Add a ContentBlock object to the content field and try again.';
      return `The content field in the Message object at messages.${m} is empty. ${fix}`;
    }
    const hasText = content.some((block) => typeof block.text === 'string');
    for (const [c, block] of content.entries()) {
      const at = `messages.${m}.content.${c}`;
      if (typeof block.text === 'string' && !block.text.trim()) {
        return `The text field in the ContentBlock object at ${at} is blank. ${addText}`;
      }
      if ((block.document || block.image) && message.role !== 'user') {
        return `The ContentBlock at ${at} holds a document or image: only a user message may include them.`;
      }
      if (block.document) {
        documents++;
        const problem = documentProblem(block.document, at, hasText);
        if (problem) return problem;
      }
      if (block.image) {
        images++;
        const problem = imageProblem(block.image, at);
        if (problem) return problem;
      }
    }
  }
  if (documents > converseLimits.documents) {
    return `The request includes ${documents} documents. You can include up to ${converseLimits.documents} documents.`;
  }
  if (images > converseLimits.images) {
    return `The request includes ${images} images. You can include up to ${converseLimits.images} images.`;
  }
  if (body.system?.some((s) => typeof s.text === 'string' && !s.text.trim())) {
    return `The text field in the SystemContentBlock object is blank. ${addText}`;
  }
  return toolProblem(body) ?? maxTokensProblem(body);
}

function documentProblem(document: Record<string, any>, at: string, hasText: boolean): string | undefined {
  const { length, characters, consecutiveWhitespace } = converseLimits.documentName;
  const name = String(document.name ?? '');
  if (!name || name.length > length || !characters.test(name) || consecutiveWhitespace.test(name)) {
    return (
      `The format of the value at ${at}.document.name is invalid. Provide a name that contains only alphanumeric ` +
      'characters, whitespace characters, hyphens, parentheses, and square brackets. ' +
      "The name can't contain more than one consecutive whitespace character."
    );
  }
  const formats: readonly string[] = converseLimits.documentFormats;
  if (document.format !== undefined && !formats.includes(document.format)) {
    return enumViolation(document.format, `${at}.document.format`);
  }
  if (!hasText) return `The message with the document at ${at} must also include a ContentBlock with a text field.`;
  const bytes = base64Length(document.source?.bytes);
  if (bytes > converseLimits.documentBytes) {
    return `The document at ${at} is ${bytes} bytes. Each document's size must be no more than 4.5 MB.`;
  }
  return undefined;
}

function imageProblem(image: Record<string, any>, at: string): string | undefined {
  if (!(converseLimits.imageFormats as readonly string[]).includes(image.format)) {
    return enumViolation(image.format, `${at}.image.format`);
  }
  const bytes = Buffer.from(String(image.source?.bytes ?? ''), 'base64');
  if (bytes.length > converseLimits.imageBytes) {
    return `The image at ${at} is ${bytes.length} bytes. Each image's size must be no more than 3.75 MB.`;
  }
  const size = imageSize(bytes, image.format);
  if (!size) return `Could not process the image at ${at}: it is not a valid ${image.format} image.`;
  const max = converseLimits.imagePixels;
  if (size.width > max || size.height > max) {
    const dimensions = `${size.width}x${size.height} px`;
    return `The image at ${at} is ${dimensions}. Each image's height and width must be no more than ${max} px.`;
  }
  return undefined;
}

function toolProblem(body: ConverseBody): string | undefined {
  const names = (body.toolConfig?.tools ?? []).map((t) => t.toolSpec?.name ?? '');
  const bad = names.find((n) => !converseLimits.toolName.test(n));
  if (bad !== undefined) return `The tool name '${bad}' is invalid: use 1 to 64 of the characters [a-zA-Z0-9_-].`;
  const chosen = body.toolConfig?.toolChoice?.tool?.name;
  if (chosen !== undefined && !names.includes(chosen)) {
    return `The tool choice '${chosen}' is not one of the tools in toolConfig. Add it to the tools and try again.`;
  }
  return undefined;
}

function maxTokensProblem(body: ConverseBody): string | undefined {
  const maxTokens = body.inferenceConfig?.maxTokens;
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens >= 1)) {
    const constraint = 'Member must have value greater than or equal to 1';
    return `Value '${maxTokens}' at 'inferenceConfig.maxTokens' failed to satisfy constraint: ${constraint}`;
  }
  return undefined;
}

const base64Length = (value: unknown) => Buffer.from(String(value ?? ''), 'base64').length;

/** An image's width and height from its header (PNG, JPEG, GIF, WebP), or undefined when it has none. */
function imageSize(bytes: Buffer, format: string): { width: number; height: number } | undefined {
  if (format === 'png' && bytes.length >= 24 && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (format === 'gif' && bytes.length >= 10 && bytes.toString('latin1', 0, 3) === 'GIF') {
    return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  }
  if (format === 'webp' && bytes.length >= 30 && bytes.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = bytes.toString('latin1', 12, 16);
    if (chunk === 'VP8 ') return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
    if (chunk === 'VP8L') {
      const bits = bytes.readUInt32LE(21);
      return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8X') return { width: bytes.readUIntLE(24, 3) + 1, height: bytes.readUIntLE(27, 3) + 1 };
    return undefined;
  }
  if (format === 'jpeg' && bytes[0] === 0xff && bytes[1] === 0xd8) {
    // The frame header (SOF0..SOF15 but DHT, JPG and DAC) carries the size; skip segments to it.
    let at = 2;
    while (at + 9 < bytes.length && bytes[at] === 0xff) {
      const marker = bytes[at + 1]!;
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
      }
      at += 2 + bytes.readUInt16BE(at + 2);
    }
  }
  return undefined;
}
