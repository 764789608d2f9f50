import { JwtVerifier } from 'aws-jwt-verify';
import type { JwksCache } from 'aws-jwt-verify/jwk';
import { identityProviders } from '../identity/id-tokens';
import { UntrustedSignatureError } from './apple-jws';

export interface GooglePushConfig {
  /** The audience the Pub/Sub push subscription puts in its token. */
  audience: string;
  /** The service account the push subscription authenticates as. */
  serviceAccount: string;
}

/**
 * Verifies the OIDC token Pub/Sub sends with a push (`Authorization: Bearer …`): Google's
 * signature and issuer, our audience, unexpired, and the configured service account's verified
 * email. Google's key set is the one its ID tokens use.
 */
export function createGooglePushVerifier(config: GooglePushConfig, jwksCache?: JwksCache) {
  const { issuers, jwksUri } = identityProviders.google;
  const verifier = JwtVerifier.create(
    issuers.map((issuer) => ({ issuer, audience: config.audience, jwksUri })),
    jwksCache ? { jwksCache } : undefined,
  );
  return async (authorization: string | undefined): Promise<void> => {
    const token = /^Bearer ([A-Za-z0-9_.-]{1,8192})$/.exec(authorization ?? '')?.[1];
    if (!token) throw new UntrustedSignatureError('no bearer token');
    let claims: Record<string, unknown>;
    try {
      claims = await verifier.verify(token);
    } catch {
      throw new UntrustedSignatureError('push token does not verify');
    }
    if (claims.email !== config.serviceAccount || claims.email_verified !== true) {
      throw new UntrustedSignatureError('push token is not from the configured service account');
    }
  };
}
