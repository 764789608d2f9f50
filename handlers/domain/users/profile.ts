import { z } from 'zod';
import { providers } from '../identity/id-tokens';

/**
 * The API's profile shapes, each defined once: these schemas check what clients send and what the
 * API answers, and the domain's types are inferred from them. The web layer adds only OpenAPI
 * names and descriptions (`web/routes/schemas.ts`).
 */

export const Device = z.strictObject({
  platform: z.enum(['ios', 'android']),
  deviceId: z.string().min(1).max(128),
  appVersion: z.string().min(1).max(32),
});
export type Device = z.infer<typeof Device>;

const Name = z.string().trim().min(1).max(200);

/** What a client may change in its profile; the email comes from the identity provider. */
export const ProfileUpdate = z.strictObject({
  name: Name.optional(),
  givenName: Name.optional(),
  familyName: Name.optional(),
  device: Device.optional(),
});
export type ProfileUpdate = z.infer<typeof ProfileUpdate>;

/** The plan the app sees, as the stores last reported it. */
export const Subscription = z.object({
  type: z.enum(['free', 'premium']),
  status: z.enum(['active', 'expired', 'cancelled']),
  provider: z.enum(['apple', 'google']).optional(),
  expiresAt: z.string().optional(),
});
export type Subscription = z.infer<typeof Subscription>;

/** A consent as the profile shows it: the version accepted, and when. */
export const AcceptedConsent = z.object({ version: z.string(), accepted: z.literal(true), acceptedAt: z.string() });
export type Consent = Omit<z.infer<typeof AcceptedConsent>, 'acceptedAt'>;

/** The API's `Profile`: decrypted, camel-cased, never stored like this. */
export const Profile = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  givenName: z.string().nullable(),
  familyName: z.string().nullable(),
  authProvider: z.enum(providers),
  /** The purchase's account token for the stores (Apple's `appAccountToken`, Play's `obfuscatedExternalAccountId`). */
  storeAccountToken: z.uuid(),
  consents: z.record(z.string(), AcceptedConsent),
  subscription: Subscription,
  device: Device.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Profile = z.infer<typeof Profile>;
