import { createPrivateKey, createPublicKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { identityProviders, type Provider } from '../../handlers/domain/identity/id-tokens';
import { publicJwkOf } from '../../contract';

export interface LocalIdentity {
  sub: string;
  email: string;
  name?: string;
  givenName?: string;
  familyName?: string;
}

/**
 * Stands in for Google and Apple offline: it mints ID tokens with the real issuers and the
 * configured audiences, signed by a local key, and serves that key to the app's verifier in
 * place of the providers' key sets. The verifier's code path is the production one.
 */
export function createLocalIdentityProvider(privateKeyPem: string, audiences: Record<Provider, string>) {
  const privateKey = createPrivateKey(privateKeyPem);
  const jwk = publicJwkOf(createPublicKey(privateKey));
  const jwks = Buffer.from(JSON.stringify({ keys: [jwk] }));
  const providerUris = new Set<string>(Object.values(identityProviders).map((p) => p.jwksUri));

  return {
    jwksCache: new SimpleJwksCache({
      fetcher: {
        async fetch(uri: string) {
          if (!providerUris.has(uri))
            throw new Error('The local identity provider serves only the Google and Apple key sets');
          return jwks.buffer.slice(jwks.byteOffset, jwks.byteOffset + jwks.byteLength) as ArrayBuffer;
        },
      },
    }),

    /** An ID token as Google or Apple would issue it after sign-in, valid for an hour. */
    async mint(provider: Provider, who: LocalIdentity, options: { expiresIn?: string } = {}): Promise<string> {
      return new SignJWT({
        email: who.email,
        email_verified: provider === 'apple' ? 'true' : true,
        ...(who.name ? { name: who.name } : {}),
        ...(who.givenName ? { given_name: who.givenName } : {}),
        ...(who.familyName ? { family_name: who.familyName } : {}),
      })
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
        .setIssuer(identityProviders[provider].issuers[0])
        .setAudience(audiences[provider])
        .setSubject(who.sub)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '1h')
        .sign(privateKey);
    },

    /**
     * The authorization code Sign in with Apple hands the app with the ID token; the Apple stand-in
     * (`apple-id-stand-in.ts`) redeems it once, for this user and client, within five minutes.
     */
    async mintAppleAuthorizationCode(sub: string): Promise<string> {
      return new SignJWT({ use: 'authorization_code' })
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
        .setSubject(sub)
        .setAudience(audiences.apple)
        .setJti(crypto.randomUUID())
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    },

    /** The OIDC token Pub/Sub attaches to a push, as Google would sign it for a push subscription. */
    async mintPushToken(claims: {
      audience: string;
      email: string;
      emailVerified?: boolean;
      expiresIn?: string;
      issuer?: string;
    }): Promise<string> {
      return new SignJWT({ email: claims.email, email_verified: claims.emailVerified ?? true })
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
        .setIssuer(claims.issuer ?? 'https://accounts.google.com')
        .setAudience(claims.audience)
        .setSubject('112233445566778899000')
        .setIssuedAt()
        .setExpirationTime(claims.expiresIn ?? '1h')
        .sign(privateKey);
    },
  };
}

export type LocalIdentityProvider = ReturnType<typeof createLocalIdentityProvider>;
