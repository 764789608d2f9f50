import { CreateBucketCommand, DeleteBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobObjects } from '../../handlers/domain/jobs/job-objects';
import { localCredentials } from '../../local/local-deps';
import { startS3Local, type S3Local } from '../../local/stand-ins/s3-local';
import { postLimits } from '../../local/stand-ins/s3-post-policy';

const bucket = 'temp-policy';
const region = 'eu-central-1';
let s3: S3Local;
const client = (options: Partial<ConstructorParameters<typeof S3Client>[0]> = {}) =>
  new S3Client({ endpoint: s3.endpoint, region, credentials: localCredentials, forcePathStyle: true, ...options });

beforeAll(async () => {
  s3 = await startS3Local({ buckets: [bucket], region });
});
afterAll(() => s3.stop());

/** The runtime's own presigned POST for a job's input (handlers/domain/jobs/job-objects.ts). */
const presign = (contentLength: number, contentType = 'text/plain', c = client()) =>
  createJobObjects(async () => c, bucket).presignInput('user-1', crypto.randomUUID(), {
    contentType,
    contentLength,
    expiresIn: 600,
  });

type Part = [string, string] | ['file', Uint8Array];

/** Posts the parts in order, as a browser or the app does (the file with a file name). */
async function post(url: string, parts: Part[]) {
  const form = new FormData();
  for (const [name, value] of parts) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value], { type: 'text/plain' }), 'labs.txt');
  }
  const res = await fetch(url, { method: 'POST', body: form });
  const text = await res.text();
  const element = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  return { status: res.status, code: element('Code'), message: element('Message')?.replace(/&amp;/g, '&'), text };
}

const asParts = (fields: Record<string, string>, file: Uint8Array, extra: Part[] = []): Part[] => [
  ...Object.entries(fields),
  ...extra,
  ['file', file],
];
const bytes = (n: number) => new Uint8Array(n).fill(0x61);
const stored = async () =>
  ((await client().send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);

describe('the offline S3 checks a presigned POST as S3 does', () => {
  it('stores a file of exactly the declared length', async () => {
    const { url, fields } = await presign(100);
    expect((await post(url, asParts(fields, bytes(100)))).status).toBe(204);
    expect(await stored()).toContain(fields.key);
  });

  it.each([
    ['one byte more than', 101, 'EntityTooLarge', 'exceeds the maximum allowed size', 'MaxSizeAllowed'],
    ['one byte less than', 99, 'EntityTooSmall', 'is smaller than the minimum allowed size', 'MinSizeAllowed'],
  ])('refuses a file %s declared with 400 %s, and stores nothing', async (_, size, code, message, limit) => {
    const { url, fields } = await presign(100);
    const res = await post(url, asParts(fields, bytes(size)));
    expect(res).toMatchObject({ status: 400, code, message: `Your proposed upload ${message}` });
    expect(res.text).toContain(`<ProposedSize>${size}</ProposedSize><${limit}>100</${limit}>`);
    expect(await stored()).not.toContain(fields.key);
  });

  it('refuses another key, another type or another bucket: AccessDenied, naming the condition', async () => {
    const { url, fields } = await presign(10, 'application/pdf');
    const other = (name: string, value: string) => asParts({ ...fields, [name]: value }, bytes(10));
    const failed = (condition: string) => ({
      status: 403,
      code: 'AccessDenied',
      message: `Invalid according to Policy: Policy Condition failed: ${condition}`,
    });
    const otherKey = await post(url, other('key', 'jobs/someone-else/x/input'));
    expect(otherKey).toMatchObject(failed(`["eq", "$key", "${fields.key}"]`));
    const otherType = await post(url, other('Content-Type', 'text/plain'));
    expect(otherType).toMatchObject(failed('["eq", "$Content-Type", "application/pdf"]'));
    const otherBucket = await post(url.replace(bucket, 'audit-policy'), asParts(fields, bytes(10)));
    expect(otherBucket).toMatchObject(failed(`["eq", "$bucket", "${bucket}"]`));
  });

  it('refuses a field no condition covers ("Extra input fields"), but not an x-ignore- one', async () => {
    const { url, fields } = await presign(10);
    const extra = await post(url, asParts(fields, bytes(10), [['x-amz-meta-name', 'Jane Doe']]));
    expect(extra).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Extra input fields: x-amz-meta-name',
    });
    const sse = await post(url, asParts(fields, bytes(10), [['x-amz-server-side-encryption', 'AES256']]));
    expect(sse.message).toBe('Invalid according to Policy: Extra input fields: x-amz-server-side-encryption');
    expect((await post(url, asParts(fields, bytes(10), [['x-ignore-note', 'anything']]))).status).toBe(204);
  });

  it('refuses a policy changed after signing, or signed with a key it does not know', async () => {
    const { url, fields } = await presign(10);
    const policy = JSON.parse(Buffer.from(fields.Policy!, 'base64').toString());
    const widen = (c: unknown) => (Array.isArray(c) && c[0] === 'content-length-range' ? [c[0], 0, 1e9] : c);
    policy.conditions = policy.conditions.map(widen);
    const tampered = { ...fields, Policy: Buffer.from(JSON.stringify(policy)).toString('base64') };
    const widened = await post(url, asParts(tampered, bytes(5000)));
    expect(widened).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });

    const signedBy = async (credentials: { accessKeyId: string; secretAccessKey: string }) => {
      const other = await presign(10, 'text/plain', client({ credentials }));
      return post(other.url, asParts(other.fields, bytes(10)));
    };
    const stranger = await signedBy({ accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' });
    expect(stranger).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    const wrongSecret = await signedBy({ ...localCredentials, secretAccessKey: 'guess' });
    expect(wrongSecret).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it("refuses a form signed for another region than the bucket's: InvalidArgument, naming both", async () => {
    const { url, fields } = await presign(10, 'text/plain', client({ region: 'us-east-1' }));
    const res = await post(url, asParts(fields, bytes(10)));
    expect(res).toMatchObject({
      status: 400,
      code: 'InvalidArgument',
      message: "the region 'us-east-1' is wrong; expecting 'eu-central-1'",
    });
    expect(res.text).toContain('<ArgumentName>X-Amz-Credential</ArgumentName>');
    expect(await stored()).not.toContain(fields.key);
  });

  it('keeps the region CreateBucket names, us-east-1 without one, as S3 does', async () => {
    // The SDK names its client's region as the LocationConstraint, except in us-east-1, which takes none.
    await client({ region: 'eu-west-1' }).send(new CreateBucketCommand({ Bucket: 'temp-zone-eu' }));
    await client({ region: 'us-east-1' }).send(new CreateBucketCommand({ Bucket: 'temp-no-constraint' }));
    const presignFor = (b: string, r: string) =>
      createJobObjects(async () => client({ region: r }), b).presignInput('user-1', crypto.randomUUID(), {
        contentType: 'text/plain',
        contentLength: 10,
        expiresIn: 600,
      });
    const statusOf = async (b: string, r: string) => {
      const { url, fields } = await presignFor(b, r);
      return (await post(url, asParts(fields, bytes(10)))).status;
    };
    expect(await statusOf('temp-zone-eu', 'eu-west-1')).toBe(204);
    expect(await statusOf('temp-zone-eu', 'eu-central-1')).toBe(400);
    expect(await statusOf('temp-no-constraint', 'us-east-1')).toBe(204);
    expect(await statusOf('temp-no-constraint', 'eu-west-1')).toBe(400);
    // Deleted and made again elsewhere: the new region is the bucket's.
    await client({ region: 'us-east-1' }).send(new CreateBucketCommand({ Bucket: 'temp-moved' }));
    await client({ region: 'us-east-1' }).send(new DeleteBucketCommand({ Bucket: 'temp-moved' }));
    await client({ region: 'eu-west-1' }).send(new CreateBucketCommand({ Bucket: 'temp-moved' }));
    expect(await statusOf('temp-moved', 'eu-west-1')).toBe(204);
  });

  it('refuses an expired policy', async () => {
    // Signed by a client whose clock is an hour behind: the 10-minute policy expired 50 minutes ago.
    const { url, fields } = await presign(10, 'text/plain', client({ systemClockOffset: -3_600_000 }));
    expect(await post(url, asParts(fields, bytes(10)))).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy expired.',
    });
  });

  it('takes the file last: a field after it is ignored, as S3 ignores it', async () => {
    const { url, fields } = await presign(10);
    const { key, ...rest } = fields;
    const res = await post(url, [...Object.entries(rest), ['file', bytes(10)], ['key', key!]]);
    expect(res).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(res.message).toContain("must contain a field named 'key'");
  });

  it('refuses an unsigned form (the buckets are private) and fields before the file over 20 KB', async () => {
    const { url, fields } = await presign(10);
    const unsigned = await post(url, [
      ['key', fields.key!],
      ['file', bytes(10)],
    ]);
    expect(unsigned).toMatchObject({ status: 403, code: 'AccessDenied' });
    const padding: Part = ['x-ignore-padding', 'x'.repeat(postLimits.preDataBytes)];
    const padded = await post(url, asParts(fields, bytes(10), [padding]));
    expect(padded).toMatchObject({ status: 400, code: 'MaxPostPreDataLengthExceeded' });
    expect(await stored()).not.toContain(fields.key);
  });
});
