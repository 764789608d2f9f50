import { SignedDataVerifier } from '@apple/app-store-server-library';

/** What `@apple/app-store-server-library`'s verifier alone adds to a Lambda bundle (measured, not used). */
export const handler = async () => ({ statusCode: 200, body: typeof SignedDataVerifier });
