import type { S3Client } from '@aws-sdk/client-s3';
import { tempBucketLayout } from '../../../contract';

/** Deletes every object under the user's prefix; safe to repeat. */
export async function deleteUserObjects(
  s3Client: () => Promise<S3Client>,
  bucket: string,
  userId: string,
): Promise<number> {
  // Loaded here, not at every cold start: only deletion lists a user's objects.
  const [{ DeleteObjectsCommand, paginateListObjectsV2 }, s3] = await Promise.all([
    import('@aws-sdk/client-s3'),
    s3Client(),
  ]);
  let deleted = 0;
  for await (const page of paginateListObjectsV2(
    { client: s3 },
    { Bucket: bucket, Prefix: tempBucketLayout.userPrefix(userId) },
  )) {
    const objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (!objects.length) continue;
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    if (out.Errors?.length) throw new Error(`S3 could not delete ${out.Errors.length} object(s) of a deleted user`);
    deleted += objects.length;
  }
  return deleted;
}
