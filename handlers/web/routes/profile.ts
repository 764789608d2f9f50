import { createRoute } from '@hono/zod-openapi';
import { AccountClosedError } from '../../domain/users/live-profile';
import type { Services } from '../../services/services';
import { createRouter } from '../router';
import * as domain from '../../domain/users/profile';
import { Device, errorResponses, jsonBody, jsonResponse, Profile, withOpenApi } from './schemas';
import { ownProfile, type Guard } from '../guard';

/** The domain's update, with its device the named schema. */
const ProfileUpdate = withOpenApi(domain.ProfileUpdate.extend({ device: Device.optional() }), 'ProfileUpdate');

const path = '/profile';
const routesOf = (guard: Guard) => {
  const { secured, securedReading } = guard;
  return {
    get: createRoute(
      securedReading(
        {
          method: 'get',
          path,
          tags: ['Profile'],
          summary: 'The caller’s profile, decrypted',
          responses: { 200: jsonResponse('The profile', Profile), ...errorResponses(401, 421) },
        },
        ownProfile,
      ),
    ),
    put: createRoute(
      secured({
        method: 'put',
        path,
        tags: ['Profile'],
        summary: 'Change names or the device; the email comes from the identity provider',
        request: { body: jsonBody(ProfileUpdate) },
        responses: {
          200: jsonResponse('The updated profile', Profile),
          ...errorResponses(400, 401, 409, 413, 415, 421),
        },
      }),
    ),
    delete: createRoute(
      secured({
        method: 'delete',
        path,
        tags: ['Profile'],
        summary: 'Delete the account, its sessions and every object of its jobs',
        responses: {
          204: { description: 'Deleted' },
          202: { description: 'Closed: the account takes no more requests and its erasure finishes in the background' },
          ...errorResponses(401, 421),
        },
      }),
    ),
  };
};

export function profileRoutes(p: Services, guard: Guard) {
  const routes = routesOf(guard);
  const router = createRouter();
  return router
    .openapi(routes.get, async (c) => {
      const profile = await p.users.profileOf(c.get('prefetched').profile);
      if (!profile) throw new AccountClosedError();
      return c.json(profile, 200);
    })
    .openapi(routes.put, async (c) => {
      const profile = await p.users.update(c.get('auth').userId, c.req.valid('json'));
      if (!profile) throw new AccountClosedError();
      return c.json(profile, 200);
    })
    .openapi(routes.delete, async (c) => {
      // Fenced and durable first; a step that fails is finished by the sweep (`account-deletion.ts`).
      const outcome = await p.deletion.request(c.get('auth').userId);
      return c.body(null, outcome === 'deleted' ? 204 : 202);
    });
}
