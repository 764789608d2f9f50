import { otherResidencies, residencyGroups } from '../../../contract';
import type { AppConfig } from '../../core/config';

const isGroup = (r: string): r is keyof typeof residencyGroups => Object.hasOwn(residencyGroups, r);

/** The countries a zone's residencies name explicitly (groups expanded; `*` names none). */
export function countriesOf(residencies: string[]): Set<string> {
  return new Set(residencies.flatMap((r) => (isGroup(r) ? residencyGroups[r] : r === otherResidencies ? [] : [r])));
}

type ZoneView = Pick<AppConfig, 'zone' | 'homeApi' | 'residencies' | 'zoneDirectory'>;

/**
 * The zone a resident of `country` belongs to, by this zone's view of all of them: the zone that
 * names the country (or its group), else the zone that takes every other residency (`*`). A
 * country named by one zone is never another zone's, even one that takes the rest.
 * Undefined when no zone serves the country.
 */
export function zoneOfResidency(config: ZoneView, country: string) {
  const all = [
    { zone: config.zone, homeApi: config.homeApi, residencies: config.residencies },
    ...Object.entries(config.zoneDirectory).map(([zone, { homeApi, residencies }]) => ({ zone, homeApi, residencies })),
  ];
  return (
    all.find((z) => countriesOf(z.residencies).has(country)) ??
    all.find((z) => z.residencies.includes(otherResidencies))
  );
}
