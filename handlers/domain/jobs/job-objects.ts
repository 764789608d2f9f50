import type { S3Client } from '@aws-sdk/client-s3';
import { tempBucketLayout as layout } from '../../../contract';

/** The S3 client and its commands, loaded when a job object is first touched. */
const s3Commands = () => import('@aws-sdk/client-s3');

/** Job objects in the temp bucket; encryption at rest is the bucket's SSE-KMS default. */
export function createJobObjects(s3: () => Promise<S3Client>, bucket: string) {
  const put = async (key: string, body: string) => {
    const { PutObjectCommand } = await s3Commands();
    await (await s3()).send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
  };
  return {
    /**
     * A presigned POST for the job's input: S3 enforces the key, the declared type and the declared
     * size, exactly (a range of one length); the worker checks the bytes themselves. Loaded on the
     * first upload, not at every cold start.
     */
    async presignInput(
      userId: string,
      jobId: string,
      upload: { contentType: string; contentLength: number; expiresIn: number },
    ) {
      const [{ createPresignedPost }, client] = await Promise.all([import('@aws-sdk/s3-presigned-post'), s3()]);
      return createPresignedPost(client, {
        Bucket: bucket,
        Key: layout.input(userId, jobId),
        Conditions: [
          ['content-length-range', upload.contentLength, upload.contentLength],
          ['eq', '$Content-Type', upload.contentType],
        ],
        Fields: { 'Content-Type': upload.contentType },
        Expires: upload.expiresIn,
      });
    },
    putInput: (userId: string, jobId: string, body: string) => put(layout.input(userId, jobId), body),
    async getInput(userId: string, jobId: string): Promise<Uint8Array | undefined> {
      return read(layout.input(userId, jobId));
    },
    putResult: (userId: string, jobId: string, result: unknown) =>
      put(layout.result(userId, jobId), JSON.stringify(result)),
    /** The stored result's bytes; the job service parses them with their schema. */
    getResult: (userId: string, jobId: string) => read(layout.result(userId, jobId)),
    /** Deletes the job's objects (either may already be gone). */
    async remove(userId: string, jobId: string, which: Array<'input' | 'result'> = ['input', 'result']) {
      const keys = { input: layout.input(userId, jobId), result: layout.result(userId, jobId) };
      const { DeleteObjectsCommand } = await s3Commands();
      await (await s3()).send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: which.map((w) => ({ Key: keys[w] })), Quiet: true },
        }),
      );
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
