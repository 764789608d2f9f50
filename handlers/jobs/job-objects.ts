import type { S3Client } from '@aws-sdk/client-s3';

/** The S3 client and its commands, loaded when a job object is first touched. */
const s3Commands = () => import('@aws-sdk/client-s3');

/** The only two objects a job ever has: `jobs/<userId>/<jobId>/input` and `…/result.json`. */
export const jobObjectKeys = (userId: string, jobId: string) => ({
  input: `jobs/${userId}/${jobId}/input`,
  result: `jobs/${userId}/${jobId}/result.json`,
});

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const inputKey = new RegExp(`^jobs/(${uuid})/(${uuid})/input$`);

/** The user and job of an input key, or undefined for any other key. */
export function parseInputKey(key: string): { userId: string; jobId: string } | undefined {
  const match = inputKey.exec(key);
  return match ? { userId: match[1]!, jobId: match[2]! } : undefined;
}

/** Job objects in the temp bucket; encryption at rest is the bucket's SSE-KMS default. */
export function createJobObjects(s3: () => Promise<S3Client>, bucket: string) {
  const put = async (key: string, body: string) => {
    const { PutObjectCommand } = await s3Commands();
    await (await s3()).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
  };
  return {
    putInput: (userId: string, jobId: string, body: string) => put(jobObjectKeys(userId, jobId).input, body),
    async getInput(userId: string, jobId: string): Promise<Uint8Array | undefined> {
      return read(jobObjectKeys(userId, jobId).input);
    },
    putResult: (userId: string, jobId: string, result: unknown) => put(jobObjectKeys(userId, jobId).result, JSON.stringify(result)),
    async getResult<T>(userId: string, jobId: string): Promise<T | undefined> {
      const bytes = await read(jobObjectKeys(userId, jobId).result);
      return bytes && (JSON.parse(Buffer.from(bytes).toString('utf8')) as T);
    },
    /** Deletes the job's objects (either may already be gone). */
    async remove(userId: string, jobId: string, which: Array<'input' | 'result'> = ['input', 'result']) {
      const keys = jobObjectKeys(userId, jobId);
      const { DeleteObjectsCommand } = await s3Commands();
      await (await s3()).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: which.map((w) => ({ Key: keys[w] })), Quiet: true } }));
    },
  };

  async function read(key: string): Promise<Uint8Array | undefined> {
    const { GetObjectCommand } = await s3Commands();
    try {
      const out = await (await s3()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await out.Body?.transformToByteArray();
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }
}

export type JobObjects = ReturnType<typeof createJobObjects>;
