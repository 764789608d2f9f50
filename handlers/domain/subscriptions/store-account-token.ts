import { randomBytes } from 'node:crypto';
import type { Zone } from '../../../contract';

/**
 * Each zone's tag in its store account tokens. A token's zone is fixed when it is made, so a tag
 * is never reused: add a zone with a new number, never renumber one.
 */
const zoneTags: Record<Zone, number> = { dev: 1, eu: 2, us: 3 };

/**
 * A new store account token: an RFC 9562 UUIDv8 whose 116 random bits make it unguessable and whose
 * six bits after the variant name the zone that made it. A store notification carries it back
 * (`appAccountToken`, `obfuscatedExternalAccountId`), so any zone knows the owner from the token
 * alone, without asking another zone about anyone. The tag only routes: a zone applies a
 * notification only to the account its own guard item (`STORE_ACCOUNT#<token>`) maps the whole
 * token to, so a token whose tag was changed names no account anywhere.
 */
export function createStoreAccountToken(zone: Zone): string {
  const bytes = randomBytes(16);
  bytes[6] = 0x80 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | zoneTags[zone];
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The zone a store account token names, or undefined for a token of no zone (not one we made). */
export function zoneOfStoreAccountToken(token: string | undefined): Zone | undefined {
  if (!token || !/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(token)) return undefined;
  const tag = parseInt(token.slice(19, 21), 16) & 0x3f;
  return (Object.keys(zoneTags) as Zone[]).find((zone) => zoneTags[zone] === tag);
}
