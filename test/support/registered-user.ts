import type { Platform } from '../../handlers/platform';
import { createStoreAccountToken } from '../../handlers/subscriptions/store-account-token';

const consent = { version: '1', accepted: true as const };

/**
 * A Google user registered straight through the repository (no ID token to mint), with a session
 * and an access token for it: how the bench and the bundle's tests seed a user.
 */
export async function registerUser(p: Platform, who: { subject: string; email: string; name: string; givenName?: string; familyName?: string }) {
  const { profile, session } = await p.users.register({
    identity: { provider: 'google', clientId: 'client.apps.googleusercontent.com', ...who },
    consents: { privacy_policy: consent, terms_of_service: consent, medical_disclaimer: consent },
    device: { platform: 'ios', deviceId: 'bench', appVersion: '1.0.0' },
    session: (userId) => p.sessions.open(userId, 'signin'),
    storeAccountToken: createStoreAccountToken(p.config.zone),
  });
  return { profile, session, token: await p.accessTokens.issue({ userId: profile.id, sessionId: session.sessionId }) };
}
