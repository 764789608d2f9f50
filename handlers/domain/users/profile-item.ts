import type { Provider } from '../identity/id-tokens';
import type { Consent, Device, Profile, ProfileUpdate, Subscription } from './profile';
import type { PiiAttribute, PiiCipher } from './pii-cipher';

/**
 * The profile item of the single table and the API's `Profile`, each made from the other. No I/O
 * here: the repository reads and writes the items; this says what they hold.
 */

export type { Consent, Device, Profile, ProfileUpdate, Subscription } from './profile';

/** The personal fields of a profile, sealed together as the item's `pii` (one message). */
export type PersonalFields = {
  email: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  device_id?: string;
};
/** The attributes of the first format, one sealed message each; rewritten as `pii` on the next write. */
export const legacyAttributes: PiiAttribute[] = ['email', 'name', 'given_name', 'family_name'];

/** The device as stored; its id is one of the sealed personal fields. */
export const storedDevice = (d: Device) => ({ platform: d.platform, app_version: d.appVersion });

/** Consents as stored, each with the time it was accepted. */
export const storedConsents = (consents: Record<string, Consent>, acceptedAt: string) =>
  Object.fromEntries(
    Object.entries(consents).map(([k, c]) => [k, { version: c.version, accepted: true, accepted_at: acceptedAt }]),
  );

/** The personal fields of an item: one message; or, written before it, one message per attribute. */
export async function personalOf(item: Record<string, unknown>, pii: PiiCipher): Promise<PersonalFields> {
  const id = item.id as string;
  if (typeof item.pii === 'string') return (await pii.openRecord(id, item.pii)) as PersonalFields;
  const open = async (attribute: PiiAttribute, sealed: unknown) =>
    typeof sealed === 'string' ? pii.open(id, attribute, sealed) : undefined;
  const device = item.current_device as Record<string, string> | undefined;
  const [email, name, given_name, family_name, device_id] = await Promise.all([
    ...legacyAttributes.map((a) => open(a, item[a])),
    open('device_id', device?.device_id),
  ]);
  return { email: email ?? '', name, given_name, family_name, device_id };
}

/** The personal fields a change touched, by name (never value), for the audit trail. */
export function changedFields(before: PersonalFields, after: PersonalFields): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])] as Array<keyof PersonalFields>;
  return names.filter((k) => before[k] !== after[k]).sort();
}

/** Expiry is judged when read (`now`, ISO): an active or cancelled subscription past its date reads as expired. */
export function subscriptionOf(item: Record<string, unknown>, now: string): Subscription {
  const sub = (item.current_subscription ?? { type: 'free', status: 'active' }) as Record<string, string>;
  const lapsed = sub.status !== 'expired' && sub.expires_at !== undefined && sub.expires_at <= now;
  return {
    type: sub.type as Subscription['type'],
    status: lapsed ? 'expired' : (sub.status as Subscription['status']),
    ...(sub.provider ? { provider: sub.provider as Subscription['provider'] } : {}),
    ...(sub.expires_at ? { expiresAt: sub.expires_at } : {}),
  };
}

/** The profile of an item whose personal fields are opened (`fields`), as of `now` (ISO). */
export function profileFrom(item: Record<string, unknown>, fields: PersonalFields, now: string): Profile {
  const device = item.current_device as Record<string, string> | undefined;
  const consents = item.consents as Record<string, { version: string; accepted: true; accepted_at: string }>;
  return {
    id: item.id as string,
    email: fields.email,
    name: fields.name ?? null,
    givenName: fields.given_name ?? null,
    familyName: fields.family_name ?? null,
    authProvider: item.auth_provider as Provider,
    storeAccountToken: item.store_account_token as string,
    consents: Object.fromEntries(
      Object.entries(consents).map(([k, c]) => [
        k,
        { version: c.version, accepted: c.accepted, acceptedAt: c.accepted_at },
      ]),
    ),
    subscription: subscriptionOf(item, now),
    device: device
      ? {
          platform: device.platform as Device['platform'],
          deviceId: fields.device_id!,
          appVersion: device.app_version!,
        }
      : null,
    createdAt: item.created_at as string,
    updatedAt: item.updated_at as string,
  };
}

/** The personal fields after a change the user made (`PATCH /user/profile`). */
export function withChanges(fields: PersonalFields, changes: ProfileUpdate): PersonalFields {
  return {
    ...fields,
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.givenName !== undefined && { given_name: changes.givenName }),
    ...(changes.familyName !== undefined && { family_name: changes.familyName }),
    ...(changes.device && { device_id: changes.device.deviceId }),
  };
}
