import { otherResidencies, residencyGroups, storeNotificationPath } from '../contract';
import type { StackConfig } from '../components/stack-config';

/** What a zone's residencies mean, in words. */
function residencyText(residencies: string[]): string {
  const groups: Record<string, readonly string[]> = residencyGroups;
  return residencies
    .map((r) => {
      if (r === otherResidencies) return 'every residency no other zone names';
      return Object.hasOwn(groups, r) ? `${r} (${groups[r]!.length} countries)` : r;
    })
    .join(', ');
}

/**
 * Where a zone receives the stores' notifications and where it processes them, for the compliance
 * report. A notification is applied only in the zone its account token names (the residency the
 * user declared); what another zone reads of it before handing it on or leaving it is said here.
 */
export function storeNotificationRows(c: StackConfig): Array<{ topic: string; where: string }> {
  const webhook = c.domain
    ? `https://${c.domain.zoneName}${storeNotificationPath}`
    : `this zone's API URL + ${storeNotificationPath}`;
  const others = Object.keys(c.zoneDirectory);
  const nothingKept = 'stores nothing and logs only the outcome';
  const handOn = others.length
    ? `handed on, as received (the signed payload only), to its owner zone's webhook (${others.join(', ')}); ` +
      `this zone verifies Apple's signatures and reads only the account token's zone tag, ${nothingKept}`
    : 'none: this zone has no other zone in its directory';
  const { appStore, googlePlay } = c.subscriptions;
  const appStoreAt = appStore
    ? `${webhook} (${appStore.environment}): from Apple when App Store Connect holds this URL (one per app and ` +
      `environment; docs/deploying.md says which zone's), else from the zone that holds it, handing on this zone's ` +
      'notifications'
    : 'not configured: answered 401';
  const playAt = googlePlay
    ? `${googlePlay.pushAudience}, by this zone's own push subscription on the app's RTDN topic`
    : 'not configured: answered 401';
  const playOthers = googlePlay
    ? "acknowledged as not_this_zone (their own zone's subscription delivers them there): the push is verified " +
      `and the purchase read from the Play Developer API in ${c.homeRegion}, as the notification names no ` +
      `account; it uses only the account token's zone tag, ${nothingKept}`
    : '—';
  return [
    { topic: 'Users onboarded (their zone for good)', where: `residents of ${residencyText(c.residencies)}` },
    { topic: 'App Store notifications received at', where: appStoreAt },
    {
      topic: 'App Store notifications of this zone’s accounts',
      where: appStore ? `verified and applied by the api function in ${c.homeRegion}` : '—',
    },
    { topic: 'App Store notifications of other zones’ accounts', where: appStore ? handOn : '—' },
    { topic: 'Google Play notifications received at', where: playAt },
    {
      topic: 'Google Play notifications of this zone’s accounts',
      where: googlePlay
        ? `verified, read from the Play Developer API and applied by the api function in ${c.homeRegion}`
        : '—',
    },
    { topic: 'Google Play notifications of other zones’ accounts', where: playOthers },
  ];
}
