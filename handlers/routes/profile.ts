import { createRoute, z } from '@hono/zod-openapi';
import { itemKeys } from '../../contract';
import { accountGone } from '../errors';
import type { Platform } from '../platform';
import { createRouter } from '../router';
import { deleteUserObjects } from '../users/user-objects';
import { Device, errorResponses, jsonBody, jsonResponse, Profile, secured, securedReading } from './schemas';

const Name = z.string().trim().min(1).max(200);
const ProfileUpdate = z
  .strictObject({ name: Name.optional(), givenName: Name.optional(), familyName: Name.optional(), device: Device.optional() })
  .openapi('ProfileUpdate');

const path = '/profile';
const routes = {
  get: createRoute(securedReading({
    method: 'get',
    path,
    tags: ['Profile'],
    summary: 'The caller’s profile, decrypted',
    responses: { 200: jsonResponse('The profile', Profile), ...errorResponses(401, 421) },
  }, (_c, auth) => [itemKeys.profile(auth.userId)])),
  put: createRoute(secured({
    method: 'put',
    path,
    tags: ['Profile'],
    summary: 'Change names or the device; the email comes from the identity provider',
    request: { body: jsonBody(ProfileUpdate) },
    responses: { 200: jsonResponse('The updated profile', Profile), ...errorResponses(400, 401, 409, 413, 415, 421) },
  })),
  delete: createRoute(secured({
    method: 'delete',
    path,
    tags: ['Profile'],
    summary: 'Delete the account, its sessions and every object of its jobs',
    responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 421) },
  })),
};

export function profileRoutes(p: Platform) {
  const router = createRouter();
  return router
    .openapi(routes.get, async (c) => {
      const profile = await p.users.profileOf(c.get('prefetched')[0]);
      if (!profile) throw accountGone();
      return c.json(profile, 200);
    })
    .openapi(routes.put, async (c) => {
      const profile = await p.users.update(c.get('auth').userId, c.req.valid('json'));
      if (!profile) throw accountGone();
      return c.json(profile, 200);
    })
    .openapi(routes.delete, async (c) => {
      const { userId } = c.get('auth');
      // Fence first (no new job or session from here on), objects, items, sessions last — so a
      // deletion cut short is retried with the same token — then the objects once more, for an
      // upload or result a job in flight wrote meanwhile.
      await p.users.beginDeletion(userId);
      await deleteUserObjects(p.s3, p.config.tempBucket, userId);
      await p.users.delete(userId);
      await deleteUserObjects(p.s3, p.config.tempBucket, userId);
      return c.body(null, 204);
    });
}
