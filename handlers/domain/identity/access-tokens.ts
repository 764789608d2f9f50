import { JwtVerifier } from 'aws-jwt-verify';
import { decomposeUnverifiedJwt } from 'aws-jwt-verify/jwt';
import { JwtExpiredError } from 'aws-jwt-verify/error';
import { uuidPattern } from '../../../contract';
import type { AppConfig } from '../../core/config';
import type { Clock } from '../../core/clock';
import type { Signer } from './signer';
import { DomainError } from '../../core/errors';

export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
}

/** The token is not ours to judge: another zone issued it, and the app must go there. */
export class WrongZoneError extends DomainError {
  override name = 'WrongZoneError';
  constructor(readonly homeApi: string) {
    super('This account lives in another zone');
  }
}

export class InvalidAccessTokenError extends DomainError {
  override name = 'InvalidAccessTokenError';
  constructor(readonly expired: boolean) {
    super(expired ? 'The access token has expired' : 'The access token is not valid');
  }
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const uuid = new RegExp(`^${uuidPattern}$`);
/** Slack for clocks between the instances that issue and verify. */
const CLOCK_SKEW_SECONDS = 60;

/**
 * What we issue and nothing else: exactly our header fields (no `crit`, no `b64`), the signature in
 * canonical base64url (2048-bit RSA: 342 characters, the last one carrying no stray bits), and
 * `iat`/`exp` present, `iat` not in the future, a lifetime no longer than we issue.
 */
function isOurShape(
  token: string,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  now: number,
  ttl: number,
): boolean {
  const keys = Object.keys(header).sort().join();
  if (keys !== 'alg,kid,typ' || header.alg !== 'RS256' || header.typ !== 'JWT') return false;
  const signature = token.split('.')[2] ?? '';
  if (
    !/^[A-Za-z0-9_-]{342}$/.test(signature) ||
    Buffer.from(signature, 'base64url').toString('base64url') !== signature
  )
    return false;
  const { iat, exp } = payload;
  if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isInteger(iat) || !Number.isInteger(exp))
    return false;
  return iat <= now + CLOCK_SKEW_SECONDS && exp > iat && exp - iat <= ttl;
}

/**
 * Issues and verifies this zone's RS256 access tokens. Verification never touches the network:
 * the verifier holds only this zone's own public key, loaded from the signer once.
 */
export function createAccessTokens(config: AppConfig, signer: Signer, clock: Clock) {
  const verifier = JwtVerifier.create({ issuer: config.issuer, audience: config.audience });
  let ready: Promise<string> | undefined;
  const ownKid = () => {
    ready ??= signer.publicJwk().then((jwk) => {
      verifier.cacheJwks({ keys: [{ ...jwk }] });
      return jwk.kid;
    });
    ready.catch(() => (ready = undefined));
    return ready;
  };
  const otherZones = new Map(Object.values(config.zoneDirectory).map((z) => [z.issuer, z.homeApi]));

  return {
    async issue({ userId, sessionId }: AccessTokenClaims): Promise<string> {
      const kid = await ownKid();
      const iat = Math.floor(clock.now().getTime() / 1000);
      const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64({
        iss: config.issuer,
        aud: config.audience,
        sub: userId,
        zone: config.zone,
        sid: sessionId,
        iat,
        exp: iat + config.accessTokenTtlSeconds,
      })}`;
      const signature = await signer.sign(Buffer.from(input));
      return `${input}.${signature.toString('base64url')}`;
    },

    async verify(token: string): Promise<AccessTokenClaims> {
      const kid = await ownKid();
      let header: Record<string, unknown>;
      let payload: Record<string, unknown>;
      try {
        ({ header, payload } = decomposeUnverifiedJwt(token));
      } catch {
        throw new InvalidAccessTokenError(false);
      }
      // Another zone's key is not ours to check; its issuer alone decides where the app goes.
      const homeApi = typeof payload.iss === 'string' ? otherZones.get(payload.iss) : undefined;
      if (homeApi) throw new WrongZoneError(homeApi);
      if (header.kid !== kid) throw new InvalidAccessTokenError(false);
      if (!isOurShape(token, header, payload, Math.floor(clock.now().getTime() / 1000), config.accessTokenTtlSeconds))
        throw new InvalidAccessTokenError(false);
      let claims: Record<string, unknown>;
      try {
        claims = verifier.verifySync(token);
      } catch (err) {
        throw new InvalidAccessTokenError(err instanceof JwtExpiredError);
      }
      if (
        claims.zone !== config.zone ||
        typeof claims.sub !== 'string' ||
        !uuid.test(claims.sub) ||
        typeof claims.sid !== 'string' ||
        !uuid.test(claims.sid)
      ) {
        throw new InvalidAccessTokenError(false);
      }
      return { userId: claims.sub, sessionId: claims.sid };
    },

    publicJwks: async () => ({ keys: [await signer.publicJwk()] }),
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
