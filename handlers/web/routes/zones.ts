import { createRoute, z } from '@hono/zod-openapi';
import { otherResidencies } from '../../../contract';
import type { Services } from '../../services/services';
import { createRouter } from '../router';
import { countriesOf } from '../../domain/zones/residency';
import { errorResponses, jsonResponse, publicRoute } from './schemas';

const ZoneView = z.object({
  zone: z.string(),
  homeApi: z.string().url().openapi({ description: 'Where a resident of this zone onboards, signs in and stays' }),
  countries: z.array(z.string()).openapi({ description: 'ISO 3166-1 alpha-2 residencies this zone serves by name' }),
  everyOtherCountry: z.boolean().openapi({ description: 'This zone also serves every residency no zone names' }),
});
const Zones = z
  .object({ zone: z.string().openapi({ description: 'The zone that answered' }), zones: z.array(ZoneView) })
  .openapi('Zones');

/**
 * The zones and the residencies each serves, so the app can offer the choice before onboarding
 * (proposed from the device's region, chosen by the user). Public: it names no one.
 */
export function zoneRoutes(p: Services) {
  const view = (zone: string, homeApi: string, residencies: string[]) => ({
    zone,
    homeApi,
    countries: [...countriesOf(residencies)].sort(),
    everyOtherCountry: residencies.includes(otherResidencies),
  });
  const { config } = p;
  const zones = [
    view(config.zone, config.homeApi, config.residencies),
    ...Object.entries(config.zoneDirectory).map(([zone, entry]) => view(zone, entry.homeApi, entry.residencies)),
  ];
  return createRouter().openapi(
    createRoute(
      publicRoute({
        method: 'get',
        path: '/',
        tags: ['Public'],
        summary: 'The zones, the residencies each serves and its API',
        responses: { 200: jsonResponse('Every zone this one knows, itself first', Zones), ...errorResponses(429) },
      }),
    ),
    (c) => {
      c.header('cache-control', 'public, max-age=300');
      return c.json({ zone: config.zone, zones }, 200);
    },
  );
}
