import { otherResidencies, residencyGroups } from '../../contract';
import type { AppConfig } from '../config';

/** The countries a zone's residencies name explicitly (groups expanded; `*` names none). */
export function countriesOf(residencies: string[]): Set<string> {
  return new Set(residencies.flatMap((r) => (Object.hasOwn(residencyGroups, r) ? residencyGroups[r as keyof typeof residencyGroups] : r === otherResidencies ? [] : [r])));
}

/**
 * The zone a resident of `country` belongs to, by this zone's view of all of them: the zone that
 * names the country (or its group), else the zone that takes every other residency (`*`). A
 * country named by one zone is never another zone's, even one that takes the rest.
 * Undefined when no zone serves the country.
 */
export function zoneOfResidency(config: Pick<AppConfig, 'zone' | 'homeApi' | 'residencies' | 'zoneDirectory'>, country: string) {
  const all = [
    { zone: config.zone, homeApi: config.homeApi, residencies: config.residencies },
    ...Object.entries(config.zoneDirectory).map(([zone, entry]) => ({ zone, homeApi: entry.homeApi, residencies: entry.residencies })),
  ];
  return all.find((z) => countriesOf(z.residencies).has(country)) ?? all.find((z) => z.residencies.includes(otherResidencies));
}
