import { createRoute, z } from '@hono/zod-openapi';
import type { Services } from '../../services/services';
import { createRouter } from '../router';
import { errorResponses, jsonResponse, publicRoute } from './schemas';

const Health = z
  .object({ status: z.literal('ok'), zone: z.string(), region: z.string(), version: z.string() })
  .openapi('Health');

const Jwks = z.object({
  keys: z.array(
    z.object({ kty: z.string(), n: z.string(), e: z.string(), kid: z.string(), alg: z.string(), use: z.string() }),
  ),
});

/** Public routes: liveness (for load balancers, smoke tests and the on-call), and the keys that verify this zone's tokens. */
export function healthRoutes(p: Services) {
  return createRouter()
    .openapi(
      createRoute(
        publicRoute({
          method: 'get',
          path: '/health',
          tags: ['Public'],
          summary: 'Liveness: the zone, its region and the running version',
          responses: { 200: jsonResponse('The zone is serving', Health), ...errorResponses(429) },
        }),
      ),
      (c) =>
        c.json({ status: 'ok' as const, zone: p.config.zone, region: p.config.region, version: p.config.version }, 200),
    )
    .openapi(
      createRoute(
        publicRoute({
          method: 'get',
          path: '/.well-known/jwks.json',
          tags: ['Public'],
          summary: "The public keys that verify this zone's access tokens",
          responses: {
            200: jsonResponse("The public keys of this zone's access tokens", Jwks),
            ...errorResponses(429),
          },
        }),
      ),
      async (c) => {
        c.header('cache-control', 'public, max-age=300');
        return c.json(await p.accessTokens.publicJwks(), 200);
      },
    );
}
