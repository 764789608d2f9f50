import { z, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import { allErrorCodes, errorCodes } from '../../core/errors';
import { providers } from '../../domain/identity/id-tokens';
import * as domain from '../../domain/users/profile';

/** Schemas more than one route module answers with. Route-specific ones live beside their route. */

export const ErrorBody = z
  .object({
    error: z.object({
      code: z
        .enum(allErrorCodes)
        .openapi({ description: 'What went wrong, for the app to act on; the message is for people' }),
      message: z.string(),
      retryable: z.boolean(),
      requestId: z.string(),
    }),
    homeApi: z.string().url().optional().openapi({
      description: 'Only with 421 WRONG_ZONE: the API of the zone that holds this account or serves this residency',
    }),
  })
  .openapi('Error');

type OpenApiMetadata = NonNullable<Parameters<z.ZodType['openapi']>[1]>;
type OpenApiArgs = [refId: string, metadata?: OpenApiMetadata] | [metadata: OpenApiMetadata];

/**
 * A domain schema with OpenAPI metadata (a name, a description). The domain builds its schemas
 * with plain zod, possibly before this library extends zod, so such a schema may lack its own
 * `.openapi()`: the extension's method is applied to it, which returns a copy that has it.
 */
export const withOpenApi = <T extends z.ZodType>(schema: T, ...args: OpenApiArgs): T =>
  (z.ZodType.prototype.openapi as (...a: OpenApiArgs) => T).apply(schema, args);

export const Device = withOpenApi(domain.Device, 'Device');

export const Provider = z.enum(providers);

/** The profile as the domain defines it, with its device a named schema and the store token explained. */
export const Profile = domain.Profile.extend({
  storeAccountToken: withOpenApi(domain.Profile.shape.storeAccountToken, {
    description: "Set it as the purchase's appAccountToken (App Store) or obfuscatedExternalAccountId (Google Play)",
  }),
  device: Device.nullable(),
}).openapi('Profile');

export const Subscription = withOpenApi(domain.Subscription, 'Subscription');

export const Tokens = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int(),
  })
  .openapi('Tokens');

/** The error answers a route can give, for its OpenAPI entry. */
export function errorResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: 'The body or parameters are invalid',
    401: 'Missing, invalid or expired token',
    403: 'Authenticated but not allowed',
    404: 'Unknown, or not yours',
    409: 'Conflict: the state does not allow it now (REQUEST_IN_PROGRESS and TRY_AGAIN are retryable)',
    422: 'IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used for another request',
    413: 'Body larger than 256 KiB',
    415: 'Body is not application/json',
    421: 'WRONG_ZONE: the account (its token) or the residency belongs to another zone; use homeApi',
    429: 'Quota or rate exceeded; see Retry-After',
    503: 'A dependency is unavailable; retry',
  };
  // 429 always, and the retryable 409s (REQUEST_IN_PROGRESS, TRY_AGAIN), say when to retry.
  const retryAfter = {
    'Retry-After': {
      description: 'Seconds after which a retry can succeed',
      schema: { type: 'integer' as const, minimum: 1 },
    },
  };
  // Each status's example names a code that status really comes with.
  const example = (s: number) => {
    const code = errorCodes[s as keyof typeof errorCodes][0];
    return {
      error: {
        code,
        message: descriptions[s]!,
        retryable: s === 429 || s === 503,
        requestId: 'c0ffee00-0000-4000-8000-000000000000',
      },
    };
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: descriptions[s]!,
        ...(s === 429 || s === 409 ? { headers: retryAfter } : {}),
        content: { 'application/json': { schema: ErrorBody, example: example(s) } },
      },
    ]),
  );
}

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { 'application/json': { schema } },
});

export const bearerAuth = [{ bearerAuth: [] }];

/** `get /api/v1/process/status/{jobId}` → `getProcessStatus`: one stable id per operation, for generated clients. */
function operationIdOf(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v1\//, '/')
    .replace(/\{[^}]+\}/g, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method.toLowerCase(), ...words].map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

/**
 * Names every operation from its full path, once the routers are mounted: a route knows only its
 * path under its router, and the ids stay what generated clients already call.
 */
export function nameOperations(registry: OpenAPIHono['openAPIRegistry']) {
  for (const definition of registry.definitions) {
    if (definition.type === 'route')
      definition.route.operationId ??= operationIdOf(definition.route.method, definition.route.path);
  }
}

export type RouteWithoutSecurity = Omit<RouteConfig, 'security' | 'middleware' | 'operationId'>;

/** A route anyone may call: it says so in the document (`security: []`), as every route says one or the other. */
export const publicRoute = <R extends RouteWithoutSecurity>(route: R) => ({
  ...route,
  security: [] as Array<Record<string, string[]>>,
});
