import type { Logger } from '@aws-lambda-powertools/logger';
import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../api-error';
import { InvalidAuthorizationCodeError } from '../../domain/identity/apple-id';
import { ForeignAuthorizationCodeError } from '../../domain/identity/apple-tokens';
import {
  IdProviderUnavailableError,
  type ExternalIdentity,
  type Provider as ProviderName,
} from '../../domain/identity/id-tokens';
import type { Services } from '../../services/services';
import { createStoreAccountToken } from '../../domain/subscriptions/store-account-token';
import { AccountClosedError } from '../../domain/users/live-profile';
import { createRouter } from '../router';
import { UserExistsError } from '../../domain/users/user-repository';
import { zoneOfResidency } from '../../domain/zones/residency';
import { Device, errorResponses, jsonBody, jsonResponse, Profile, Provider, Tokens, publicRoute } from './schemas';
import type { Guard } from '../guard';

const IdToken = z.string().min(20).max(8192).openapi({ description: 'The ID token from Google or Apple sign-in' });
const Consent = z.strictObject({
  version: z.string().min(1).max(20),
  accepted: z.literal(true, { error: 'must be accepted' }),
});

const AuthorizationCode = z.string().min(10).max(2048).optional().openapi({
  description:
    "Sign in with Apple only: the authorizationCode Apple returned with the ID token (the same Apple account's, else 401 INVALID_AUTHORIZATION_CODE). The server exchanges it for a refresh token, kept sealed, so deleting the account revokes the user's Apple tokens as App Review requires.",
});

const Residency = z
  .string()
  .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code in capitals, such as IE')
  .openapi({
    description:
      "The user's country of residence (ISO 3166-1 alpha-2), chosen by the user and proposed from the device's " +
      "region. It decides the user's zone for good: a zone that does not serve it answers 421 WRONG_ZONE with the " +
      'homeApi of the one that does (GET /api/v1/zones lists them).',
    example: 'IE',
  });

const OnboardingRequest = z
  .strictObject({
    provider: Provider,
    residency: Residency,
    idToken: IdToken,
    authorizationCode: AuthorizationCode,
    consents: z.strictObject({ privacy_policy: Consent, terms_of_service: Consent, medical_disclaimer: Consent }),
    device: Device,
  })
  .openapi('OnboardingRequest');
const SignInRequest = z
  .strictObject({ provider: Provider, idToken: IdToken, authorizationCode: AuthorizationCode, device: Device })
  .openapi('SignInRequest');
const RefreshRequest = z.strictObject({ refreshToken: z.string().min(1).max(512) }).openapi('RefreshRequest');
const Session = z
  .object({ user: Profile, tokens: Tokens, zone: z.string(), homeApi: z.string().url() })
  .openapi('Session');

const routesOf = (guard: Guard) => {
  const { secured } = guard;
  return {
    onboarding: createRoute(
      publicRoute({
        method: 'post',
        path: '/oauth-onboarding',
        tags: ['Auth'],
        summary: 'Create an account from a Google or Apple ID token',
        request: { body: jsonBody(OnboardingRequest) },
        responses: {
          201: jsonResponse('Account created and signed in', Session),
          ...errorResponses(400, 401, 409, 413, 415, 421, 503),
        },
      }),
    ),
    signin: createRoute(
      publicRoute({
        method: 'post',
        path: '/oauth-signin',
        tags: ['Auth'],
        summary: 'Sign in to an existing account',
        request: { body: jsonBody(SignInRequest) },
        responses: { 200: jsonResponse('Signed in', Session), ...errorResponses(400, 401, 404, 413, 415, 503) },
      }),
    ),
    refresh: createRoute(
      publicRoute({
        method: 'post',
        path: '/refresh',
        tags: ['Auth'],
        summary: 'Trade a refresh token (good once) for new tokens',
        request: { body: jsonBody(RefreshRequest) },
        responses: {
          200: jsonResponse('New tokens', z.object({ tokens: Tokens })),
          ...errorResponses(400, 401, 413, 415),
        },
      }),
    ),
    signout: createRoute(
      secured({
        method: 'post',
        path: '/signout',
        tags: ['Auth'],
        summary: 'End this session; its tokens stop working',
        responses: { 204: { description: 'Signed out' }, ...errorResponses(401, 421) },
      }),
    ),
  };
};

export function authRoutes(p: Services, guard: Guard) {
  const routes = routesOf(guard);
  const tokensFor = async (userId: string, sessionId: string, refreshToken: string) => ({
    accessToken: await p.accessTokens.issue({ userId, sessionId }),
    refreshToken,
    tokenType: 'Bearer' as const,
    expiresIn: p.config.accessTokenTtlSeconds,
  });
  // Rejects with `InvalidIdTokenError` or `IdProviderUnavailableError`, each its own answer.
  const verifyIdToken = (provider: ProviderName, idToken: string) => p.idTokens.verify(provider, idToken);
  const zone = { zone: p.config.zone, homeApi: p.config.homeApi };
  /** Apple's refresh token for the authorization code, when the app sent one with an Apple sign-in. */
  const appleRefreshToken = async (
    body: { provider: ProviderName; authorizationCode?: string },
    identity: ExternalIdentity,
    log: () => Logger,
  ) => {
    if (body.authorizationCode === undefined) return undefined;
    if (body.provider !== 'apple')
      throw new ApiError(400, 'VALIDATION_ERROR', 'authorizationCode is for provider "apple" only; leave it out');
    if (!p.appleId) {
      log().warn('apple authorization code ignored', { reason: 'no Sign in with Apple key in this zone' });
      return undefined;
    }
    try {
      return await p.appleTokens.redeem(body.authorizationCode, identity);
    } catch (err) {
      if (err instanceof InvalidAuthorizationCodeError || err instanceof ForeignAuthorizationCodeError) throw err;
      throw new IdProviderUnavailableError('Apple could not be reached');
    }
  };

  const router = createRouter();
  return router
    .openapi(routes.onboarding, async (c) => {
      const body = c.req.valid('json');
      // Before anything is verified, redeemed or written: a resident of another zone is sent there.
      const home = zoneOfResidency(p.config, body.residency);
      if (home?.zone !== p.config.zone) {
        const message = home ? 'This residency is served by another zone; onboard at homeApi' : 'No zone serves it yet';
        throw new ApiError(421, 'WRONG_ZONE', message, { extra: home ? { homeApi: home.homeApi } : {} });
      }
      const identity = await verifyIdToken(body.provider, body.idToken);
      const apple = await appleRefreshToken(body, identity, c.var.log);
      const register = () =>
        p.users.register({
          identity,
          storeAccountToken: createStoreAccountToken(p.config.zone),
          appleRefreshToken: apple,
          consents: body.consents,
          device: body.device,
          session: (userId) => p.sessions.open(userId, 'onboarding'),
        });
      /** The provider account is taken; by an account whose deletion was cut short, it is freed first. */
      const freedFromDeletion = async () => {
        const existing = await p.users.findUserId(identity.provider, identity.subject);
        return existing !== undefined && (await p.deletion.finishIfPending(existing));
      };
      try {
        const { profile, session } = await register().catch(async (err) => {
          if (err instanceof UserExistsError && (await freedFromDeletion())) return register();
          throw err;
        });
        const tokens = await tokensFor(profile.id, session.sessionId, session.refreshToken);
        return c.json({ user: profile, tokens, ...zone }, 201);
      } catch (err) {
        // The code was redeemed for nothing: its grant is revoked, not left live at Apple.
        if (err instanceof UserExistsError && apple) await p.appleTokens.discard(apple, identity.clientId);
        throw err;
      }
    })
    .openapi(routes.signin, async (c) => {
      const body = c.req.valid('json');
      const identity = await verifyIdToken(body.provider, body.idToken);
      const noAccount = () =>
        new ApiError(
          404,
          'USER_NOT_FOUND',
          'No account for this sign-in in this zone; create one with /api/v1/auth/oauth-onboarding',
        );
      const userId = await p.users.findUserId(identity.provider, identity.subject);
      const apple = userId ? await appleRefreshToken(body, identity, c.var.log) : undefined;
      const profile = userId
        ? await p.users.recordSignIn(
            userId,
            body.device,
            apple ? { refreshToken: apple, clientId: identity.clientId } : undefined,
          )
        : undefined;
      // The account went while this sign-in ran: the token redeemed for it is revoked, not left live.
      if (apple && !profile) await p.appleTokens.discard(apple, identity.clientId);
      // An account whose deletion was cut short: this sign-in finishes it.
      if (userId && !profile) await p.deletion.finish(userId);
      if (!userId || !profile) throw noAccount();
      const session = await p.sessions.open(userId, 'signin');
      try {
        await p.sessions.put(userId, session);
      } catch (err) {
        // The account was deleted while this sign-in ran: it gets no session.
        if (err instanceof AccountClosedError) throw noAccount();
        throw err;
      }
      const tokens = await tokensFor(userId, session.sessionId, session.refreshToken);
      return c.json({ user: profile, tokens, ...zone }, 200);
    })
    .openapi(routes.refresh, async (c) => {
      // Rejects with `RefreshTokenReusedError`, `SessionExpiredError` or `InvalidRefreshTokenError`.
      const next = await p.sessions.rotate(c.req.valid('json').refreshToken);
      return c.json({ tokens: await tokensFor(next.userId, next.sessionId, next.refreshToken) }, 200);
    })
    .openapi(routes.signout, async (c) => {
      const { userId, sessionId } = c.get('auth');
      await p.sessions.revoke(userId, sessionId, 'signed_out');
      return c.body(null, 204);
    });
}
