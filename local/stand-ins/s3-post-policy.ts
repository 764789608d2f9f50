import { createHmac, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * S3's limits on a browser-based upload (POST Object), spelled once. From the S3 API Reference:
 * "POST Policy", "Browser-Based Uploads Using POST (AWS Signature Version 4)", "Error responses".
 */
export const postLimits = {
  /** The form fields before the file: over this, `MaxPostPreDataLengthExceeded`. */
  preDataBytes: 20_480,
  /** A POST uploads one object of at most 5 GB, whatever the policy's range says. */
  objectBytes: 5 * 1024 ** 3,
  /**
   * Offline only: the stand-in reads a form into memory and refuses a larger body as
   * `EntityTooLarge` (no policy the runtime signs allows more than a few MB).
   */
  offlineBodyBytes: 64 * 1024 ** 2,
} as const;

/** The fields a signed (SigV4) form must carry besides `key`. */
const signedFields = ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature', 'policy'] as const;
/**
 * Fields no condition need cover: "except x-amz-signature, file, policy, and field names that have an x-ignore-
 * prefix".
 */
const uncovered = new Set(['x-amz-signature', 'file', 'policy']);

/** S3's answer to a form it refuses: its error code, HTTP status, message and detail elements. */
export class PostPolicyError extends Error {
  constructor(
    readonly code: string,
    readonly status: 400 | 403,
    message: string,
    readonly detail: Record<string, string | number> = {},
  ) {
    super(message);
  }
}

const accessDenied = (message: string) => new PostPolicyError('AccessDenied', 403, message);
const invalidPolicy = (message: string) =>
  new PostPolicyError('InvalidPolicyDocument', 400, `Invalid Policy: ${message}`);
const missingField = (name: string) =>
  new PostPolicyError(
    'InvalidArgument',
    400,
    `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
    { ArgumentName: name, ArgumentValue: '' },
  );

/** One part of a multipart form, in order: a field's text, or the file's size. */
export type FormPart = { name: string; value: string } | { name: string; file: true; size: number };

/** A form as S3 reads it: the parts in order, and how many bytes came before the file. */
export interface PostForm {
  parts: FormPart[];
  preDataBytes: number;
}

/** What the check needs besides the form: the bucket of the URL, the time, the stand-in's secrets and buckets. */
export interface PostContext {
  bucket: string;
  now: Date;
  /** The secret access key of an access key id the stand-in knows, or undefined. */
  secretOf: (accessKeyId: string) => string | undefined;
  /** The region a bucket was made in, or undefined for one the stand-in does not know. */
  regionOf: (bucket: string) => string | undefined;
}

/** The object a form uploads, once S3 would accept it. */
export interface AcceptedPost {
  key: string;
  size: number;
}

type Condition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; shown: string }
  | { op: 'content-length-range'; min: number; max: number };

/**
 * Checks a presigned POST as S3 does, in S3's order: one file, the fields before it within
 * 20 KB (fields after it ignored), a SigV4 signature over the base64 policy with a known key,
 * the policy's expiration, every condition, no field that no condition covers, and the file's
 * size within `content-length-range`. Throws `PostPolicyError` with S3's code and message.
 */
function checkPostForm(form: PostForm, context: PostContext): AcceptedPost {
  const fileAt = form.parts.findIndex((p) => p.name.toLowerCase() === 'file');
  const file = form.parts[fileAt];
  if (!file || !('file' in file)) {
    throw new PostPolicyError('InvalidArgument', 400, 'POST requires exactly one file upload per request.', {
      ArgumentName: 'file',
      ArgumentValue: 0,
    });
  }
  if (form.preDataBytes > postLimits.preDataBytes) {
    const message = 'Your POST request fields preceding the upload file were too large.';
    const detail = { MaxPostPreDataLengthBytes: postLimits.preDataBytes };
    throw new PostPolicyError('MaxPostPreDataLengthExceeded', 400, message, detail);
  }
  // "The file or text content must be the last field in the form": S3 ignores what follows it.
  const fields = new Map<string, { name: string; value: string }>();
  for (const part of form.parts.slice(0, fileAt)) {
    if ('file' in part) continue;
    const name = part.name.toLowerCase();
    if (fields.has(name)) {
      throw new PostPolicyError('InvalidArgument', 400, `Bucket POST may contain the field '${part.name}' once only.`);
    }
    fields.set(name, part);
  }
  const value = (name: string) => fields.get(name.toLowerCase())?.value;

  const key = value('key');
  if (key === undefined) throw missingField('key');
  // Every bucket of the platform is private: an unsigned form is an anonymous write.
  const signed = [...fields.keys()].some((name) => (signedFields as readonly string[]).includes(name));
  if (!signed) throw accessDenied('Access Denied');
  for (const name of signedFields) if (value(name) === undefined) throw missingField(fields.get(name)?.name ?? name);
  const policy = value('policy')!;
  checkSignature(
    policy,
    {
      algorithm: value('x-amz-algorithm')!,
      credential: value('x-amz-credential')!,
      date: value('x-amz-date')!,
      signature: value('x-amz-signature')!,
    },
    context,
  );

  const { expiration, conditions } = parsePolicy(policy);
  if (context.now.getTime() >= expiration) throw accessDenied('Invalid according to Policy: Policy expired.');
  const covered = new Set<string>();
  let range: { min: number; max: number } | undefined;
  for (const condition of conditions) {
    if (condition.op === 'content-length-range') {
      range = condition;
      continue;
    }
    covered.add(condition.field);
    // The bucket is the one the form is posted to, whether or not a field names it.
    const actual = condition.field === 'bucket' ? context.bucket : (value(condition.field) ?? '');
    const holds = condition.op === 'eq' ? actual === condition.value : actual.startsWith(condition.value);
    if (!holds) throw accessDenied(`Invalid according to Policy: Policy Condition failed: ${condition.shown}`);
  }
  const extra = [...fields.values()].filter(({ name }) => {
    const lower = name.toLowerCase();
    return !uncovered.has(lower) && !lower.startsWith('x-ignore-') && !covered.has(lower);
  });
  if (extra.length) {
    throw accessDenied(`Invalid according to Policy: Extra input fields: ${extra.map((f) => f.name).join(', ')}`);
  }

  const max = Math.min(range?.max ?? postLimits.objectBytes, postLimits.objectBytes);
  if (file.size > max) {
    throw new PostPolicyError('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', {
      ProposedSize: file.size,
      MaxSizeAllowed: max,
    });
  }
  if (range && file.size < range.min) {
    throw new PostPolicyError('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', {
      ProposedSize: file.size,
      MinSizeAllowed: range.min,
    });
  }
  return { key, size: file.size };
}

/** SigV4 for POST: HMAC-SHA256 of the base64 policy, with the key derived for `<date>/<region>/s3/aws4_request`. */
function checkSignature(
  policy: string,
  form: { algorithm: string; credential: string; date: string; signature: string },
  { secretOf, regionOf, bucket }: PostContext,
) {
  if (form.algorithm !== 'AWS4-HMAC-SHA256') {
    throw new PostPolicyError('InvalidArgument', 400, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', {
      ArgumentName: 'x-amz-algorithm',
      ArgumentValue: form.algorithm,
    });
  }
  const [accessKeyId = '', day = '', region = '', service, terminal, ...rest] = form.credential.split('/');
  if (!/^\d{8}$/.test(day) || !region || service !== 's3' || terminal !== 'aws4_request' || rest.length) {
    const message =
      'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; ' +
      'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".';
    const detail = { ArgumentName: 'x-amz-credential', ArgumentValue: form.credential };
    throw new PostPolicyError('InvalidArgument', 400, message, detail);
  }
  if (!form.date.startsWith(day)) {
    const message = `Invalid credential date "${day}". This date is not the same as X-Amz-Date: "${form.date.slice(0, 8)}".`;
    throw new PostPolicyError('InvalidArgument', 400, message);
  }
  // S3 serves a bucket in its own region only: a form signed for another is refused before its signature is read.
  const bucketRegion = regionOf(bucket);
  if (bucketRegion && region !== bucketRegion) {
    const message = `the region '${region}' is wrong; expecting '${bucketRegion}'`;
    const detail = { ArgumentName: 'X-Amz-Credential', ArgumentValue: form.credential, Region: bucketRegion };
    throw new PostPolicyError('InvalidArgument', 400, message, detail);
  }
  const secret = secretOf(accessKeyId);
  if (secret === undefined) {
    const message = 'The AWS Access Key Id you provided does not exist in our records.';
    throw new PostPolicyError('InvalidAccessKeyId', 403, message, { AWSAccessKeyId: accessKeyId });
  }
  const hmac = (k: string | Buffer, data: string) => createHmac('sha256', k).update(data, 'utf8').digest();
  const scope = [day, region, 's3', 'aws4_request'];
  const signingKey = scope.reduce<string | Buffer>((k, part) => hmac(k, part), `AWS4${secret}`);
  const expected = hmac(signingKey, policy);
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(form.signature) ? form.signature : '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    const message =
      'The request signature we calculated does not match the signature you provided. ' +
      'Check your key and signing method.';
    throw new PostPolicyError('SignatureDoesNotMatch', 403, message, { AWSAccessKeyId: accessKeyId });
  }
}

/** The policy's expiration and conditions; field names are matched without regard to case. */
function parsePolicy(base64: string): { expiration: number; conditions: Condition[] } {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  const { expiration, conditions } = (document ?? {}) as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string') throw invalidPolicy('Policy missing expiration.');
  const at = Date.parse(expiration);
  if (Number.isNaN(at)) throw invalidPolicy(`Invalid 'expiration' value: '${expiration}'`);
  if (!Array.isArray(conditions)) throw invalidPolicy('Policy missing conditions.');
  return { expiration: at, conditions: conditions.map(parseCondition) };
}

function parseCondition(raw: unknown): Condition {
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const entries = Object.entries(raw);
    const [field, value] = entries[0] ?? [];
    if (entries.length !== 1 || typeof value !== 'string') {
      throw invalidPolicy(`Invalid Simple-Condition: ${JSON.stringify(raw)}`);
    }
    return { op: 'eq', field: field!.toLowerCase(), value, shown: `["eq", "$${field}", "${value}"]` };
  }
  if (Array.isArray(raw) && raw.length === 3) {
    const [op, a, b] = raw as unknown[];
    if (op === 'content-length-range' && Number.isInteger(a) && Number.isInteger(b) && (a as number) >= 0) {
      return { op, min: a as number, max: b as number };
    }
    const fieldCondition = (op === 'eq' || op === 'starts-with') && typeof a === 'string' && a.startsWith('$');
    if (fieldCondition && typeof b === 'string') {
      return { op, field: a.slice(1).toLowerCase(), value: b, shown: `["${op}", "${a}", "${b}"]` };
    }
  }
  throw invalidPolicy(`Invalid Condition: ${JSON.stringify(raw)}`);
}

/**
 * The parts of a `multipart/form-data` body, in order, with the offset of the file's part
 * (S3 counts the bytes before it). Undefined when the body is not such a form.
 */
function parseMultipart(body: Buffer, contentType: string): PostForm | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const delimiter = Buffer.from(`--${boundary?.[1] ?? boundary?.[2] ?? ''}`);
  if (!boundary) return undefined;
  const parts: FormPart[] = [];
  let preDataBytes = 0;
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headersEnd = body.indexOf('\r\n\r\n', start);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headersEnd);
    if (headersEnd < 0 || next < 0) return undefined;
    const headers = body.subarray(start, headersEnd).toString('utf8');
    const disposition = /content-disposition:\s*form-data([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) return undefined;
    const content = body.subarray(headersEnd + 4, next);
    if (name.toLowerCase() === 'file' && !parts.some((p) => 'file' in p)) preDataBytes = at;
    const isFile = name.toLowerCase() === 'file';
    parts.push(isFile ? { name, file: true, size: content.length } : { name, value: content.toString('utf8') });
    at = next + 2;
  }
  return { parts, preDataBytes };
}

/** The part of Koa's context the middleware uses (s3rver is a Koa app). */
interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  req: Readable;
  get(header: string): string;
  status: number;
  type: string;
  body: unknown;
  set(headers: Record<string, string>): void;
}

/**
 * A Koa middleware for s3rver, which stores any POST: a presigned POST to `/<bucket>` is checked
 * as S3 checks it (`checkPostForm`) and refused with S3's XML error; an accepted form is handed
 * on to s3rver unchanged.
 */
export function enforcePostPolicy({
  secretOf,
  regionOf,
  now = () => new Date(),
}: Pick<PostContext, 'secretOf' | 'regionOf'> & { now?: () => Date }) {
  return async function postPolicy(ctx: KoaContext, next: () => Promise<unknown>) {
    const bucket = bucketOf(ctx);
    const contentType = ctx.get('content-type');
    const form = /^multipart\/form-data/i.test(contentType);
    if (ctx.method !== 'POST' || !bucket || !form) return next();
    try {
      const body = await readBody(ctx.req);
      const parts = parseMultipart(body, contentType);
      if (!parts) {
        const message = 'The body of your POST request is not well-formed multipart/form-data.';
        throw new PostPolicyError('MalformedPOSTRequest', 400, message);
      }
      checkPostForm(parts, { bucket, now: now(), secretOf, regionOf });
      // s3rver reads the form from the request stream, which this check has read.
      const replay = Readable.from([body]);
      ctx.req.pipe = ((destination: NodeJS.WritableStream) => replay.pipe(destination)) as Readable['pipe'];
    } catch (err) {
      return answerError(ctx, err);
    }
    return next();
  };
}

/** Where S3 makes a bucket whose CreateBucket names no region. */
const defaultBucketRegion = 'us-east-1';

/**
 * A Koa middleware that keeps each bucket's region as S3 does, for `regionOf`: the
 * `LocationConstraint` of its CreateBucket, us-east-1 without one (s3rver ignores it), until the
 * bucket is deleted. s3rver's CreateBucket reads no body, so the one read here is not replayed.
 */
export function recordBucketRegions(regions: Map<string, string>) {
  return async function bucketRegions(ctx: KoaContext, next: () => Promise<unknown>) {
    const bucket = bucketOf(ctx);
    if (!bucket || (ctx.method !== 'PUT' && ctx.method !== 'DELETE')) return next();
    let constraint: string | undefined;
    if (ctx.method === 'PUT') {
      try {
        constraint = /<LocationConstraint>([^<]+)<\/LocationConstraint>/.exec(
          (await readBody(ctx.req)).toString(),
        )?.[1];
      } catch (err) {
        return answerError(ctx, err);
      }
    }
    await next();
    if (ctx.status >= 300) return;
    if (ctx.method === 'DELETE') regions.delete(bucket);
    else if (!regions.has(bucket)) regions.set(bucket, constraint ?? defaultBucketRegion);
  };
}

/** The regions of buckets made at start: the zone's, else S3's default. */
export const bucketRegions = (buckets: string[], region = defaultBucketRegion) =>
  new Map(buckets.map((name) => [name, region]));

/** The bucket a request addresses by path (`/<bucket>`, no subresource), decoded. */
function bucketOf(ctx: KoaContext): string | undefined {
  const bucket = /^\/([^/]+)\/?$/.exec(ctx.path)?.[1];
  return bucket && !ctx.querystring ? decodeURIComponent(bucket) : undefined;
}

/** S3's XML error for a `PostPolicyError`; anything else is not ours to answer. */
function answerError(ctx: KoaContext, err: unknown) {
  if (!(err instanceof PostPolicyError)) throw err;
  ctx.status = err.status;
  ctx.type = 'application/xml';
  ctx.set({ 'x-amz-error-code': err.code });
  ctx.body = errorXml(err);
}

async function readBody(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > postLimits.offlineBodyBytes) {
      const message = 'Your proposed upload exceeds the maximum allowed size';
      throw new PostPolicyError('EntityTooLarge', 400, message, { MaxSizeAllowed: postLimits.offlineBodyBytes });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** S3's error body: `<Error><Code/><Message/>…detail…</Error>`. */
function errorXml(err: PostPolicyError): string {
  const detail = Object.entries(err.detail).map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`);
  const message = escapeXml(err.message);
  const body = `<Code>${err.code}</Code><Message>${message}</Message>${detail.join('')}`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${body}</Error>`;
}
