/**
 * A promise made on the first call and shared by every later one; a failed one is made again by
 * the next call, so one bad load does not fail every request for the container's life. What only
 * some requests need (S3, KMS, the Encryption SDK, the model) loads this way, off the cold path.
 */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((err: unknown) => {
      made = undefined;
      throw err;
    }));
}
