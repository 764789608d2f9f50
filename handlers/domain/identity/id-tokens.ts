import { JwtVerifier } from 'aws-jwt-verify';
import type { JwksCache } from 'aws-jwt-verify/jwk';
import { FetchError, JwksNotAvailableInCacheError } from 'aws-jwt-verify/error';
import { DomainError } from '../../core/errors';

export const providers = ['google', 'apple'] as const;
export type Provider = (typeof providers)[number];

/** Who the ID token says the user is, once its signature, issuer, audience and expiry check out. */
export interface ExternalIdentity {
  provider: Provider;
  subject: string;
  /** Our client id the token was issued to (Apple's token endpoint wants it back). */
  clientId: string;
  email: string;
  name?: string;
  givenName?: string;
  familyName?: string;
}

export interface IdTokenVerifier {
  /** Rejects with `InvalidIdTokenError` or, when the provider's keys cannot be fetched, `IdProviderUnavailableError`. */
  verify(provider: Provider, idToken: string): Promise<ExternalIdentity>;
}

export class InvalidIdTokenError extends DomainError {
  override name = 'InvalidIdTokenError';
  constructor(
    readonly provider: Provider,
    message: string,
  ) {
    super(message);
  }
}
export class IdProviderUnavailableError extends DomainError {
  override name = 'IdProviderUnavailableError';
}

/** The real issuers and key sets. Offline trusts a local key by serving it through `jwksCache`. */
export const identityProviders = {
  google: {
    issuers: ['https://accounts.google.com', 'accounts.google.com'],
    jwksUri: 'https://www.googleapis.com/oauth2/v3/certs',
  },
  apple: { issuers: ['https://appleid.apple.com'], jwksUri: 'https://appleid.apple.com/auth/keys' },
} as const satisfies Record<Provider, { issuers: readonly string[]; jwksUri: string }>;

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 320 ? v : undefined);

export function createIdTokenVerifier(
  clientIds: { google: string[]; apple: string[] },
  jwksCache?: JwksCache,
): IdTokenVerifier {
  const verifierFor = (provider: Provider) => {
    const { issuers, jwksUri } = identityProviders[provider];
    const audience = clientIds[provider];
    if (audience.length === 0) return undefined;
    const configs = issuers.map((issuer) => ({ issuer, audience, jwksUri }));
    return JwtVerifier.create(configs, jwksCache ? { jwksCache } : undefined);
  };
  const verifiers = { google: verifierFor('google'), apple: verifierFor('apple') };

  return {
    async verify(provider, idToken) {
      const verifier = verifiers[provider];
      if (!verifier) throw new InvalidIdTokenError(provider, `Sign-in with ${provider} is not enabled in this zone`);
      let claims: Record<string, unknown>;
      try {
        claims = await verifier.verify(idToken);
      } catch (err) {
        if (err instanceof FetchError || err instanceof JwksNotAvailableInCacheError) {
          throw new IdProviderUnavailableError(`Could not fetch ${provider}'s signing keys`);
        }
        throw new InvalidIdTokenError(provider, `The ${provider} ID token did not verify`);
      }
      // With several audiences, the party the token was issued to must be one of ours (OpenID
      // Connect Core 3.1.3.7); and a token without an expiry is never accepted.
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (audiences.length > 1 && !(typeof claims.azp === 'string' && clientIds[provider].includes(claims.azp))) {
        throw new InvalidIdTokenError(provider, `The ${provider} ID token was issued to another party`);
      }
      if (typeof claims.exp !== 'number')
        throw new InvalidIdTokenError(provider, `The ${provider} ID token has no expiry`);
      const subject = str(claims.sub);
      const email = str(claims.email);
      // Apple sends email_verified as the string "true".
      const verified = claims.email_verified === true || claims.email_verified === 'true';
      if (!subject || !email || !verified) {
        throw new InvalidIdTokenError(provider, `The ${provider} ID token has no verified email`);
      }
      const clientId = typeof claims.azp === 'string' ? claims.azp : String(audiences[0]);
      return {
        provider,
        subject,
        clientId,
        email,
        name: str(claims.name),
        givenName: str(claims.given_name),
        familyName: str(claims.family_name),
      };
    },
  };
}
