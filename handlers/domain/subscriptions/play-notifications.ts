import { UntrustedSignatureError } from './apple-jws';
import type { PlayDeveloperClient } from './play-developer-client';
import { MalformedNotificationError, storeAccountTokenPattern, type SubscriptionEvent } from './subscription-event';

/** A Pub/Sub push envelope, already checked for shape by the route. */
export interface PubSubPush {
  message: { data: string; messageId: string; publishTime?: string };
}

/** `subscriptionState` → what the app sees; anything else (pending, unknown) changes nothing. */
const states: Record<string, 'active' | 'cancelled' | 'expired'> = {
  SUBSCRIPTION_STATE_ACTIVE: 'active',
  SUBSCRIPTION_STATE_IN_GRACE_PERIOD: 'active',
  SUBSCRIPTION_STATE_CANCELED: 'cancelled',
  SUBSCRIPTION_STATE_ON_HOLD: 'expired',
  SUBSCRIPTION_STATE_PAUSED: 'expired',
  SUBSCRIPTION_STATE_EXPIRED: 'expired',
};

/**
 * Google Play real-time developer notifications, after the push token verified: decodes the
 * message, checks the package, and reads the subscription's actual state from the Play
 * Developer API. The user is the one whose `storeAccountToken` the purchase's
 * `obfuscatedExternalAccountId` is (the app sets it at purchase).
 */
export async function readPlayNotification(
  push: PubSubPush,
  packageName: string,
  play: PlayDeveloperClient,
): Promise<SubscriptionEvent> {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(Buffer.from(push.message.data, 'base64').toString('utf8'));
  } catch {
    throw new MalformedNotificationError('message.data is not base64 JSON');
  }
  if (typeof data !== 'object' || data === null) throw new MalformedNotificationError('message.data is not an object');
  if (data.packageName !== packageName) throw new UntrustedSignatureError('packageName is not this app');
  const eventTime = Number(data.eventTimeMillis);
  if (!Number.isFinite(eventTime)) throw new MalformedNotificationError('eventTimeMillis is missing');
  const base = { provider: 'google' as const, notificationId: push.message.messageId, eventTime };
  if (data.testNotification) return { ...base, kind: 'TEST' };
  // The RTDN's shape (developer-notifications reference): checked field by field below.
  const notification = data.subscriptionNotification as
    | { purchaseToken?: unknown; notificationType?: unknown }
    | undefined;
  if (!notification) return { ...base, kind: data.voidedPurchaseNotification ? 'VOIDED_PURCHASE' : 'OTHER' };
  if (typeof notification.purchaseToken !== 'string' || !notification.purchaseToken) {
    throw new MalformedNotificationError('subscriptionNotification.purchaseToken is missing');
  }
  const purchaseToken = notification.purchaseToken;
  const purchase = await play.getSubscription(packageName, purchaseToken);
  const account = purchase.externalAccountIdentifiers?.obfuscatedExternalAccountId;
  const state = purchase.subscriptionState ?? '';
  const status = Object.hasOwn(states, state) ? states[state] : undefined;
  const expiryTime = purchase.lineItems?.[0]?.expiryTime;
  return {
    ...base,
    kind: `SUBSCRIPTION/${notification.notificationType}`,
    accountToken: account && storeAccountTokenPattern.test(account) ? account.toLowerCase() : undefined,
    state: status
      ? {
          type: 'premium',
          status,
          expiresAt: expiryTime ? new Date(expiryTime).toISOString() : undefined,
          purchaseReference: purchaseToken,
        }
      : undefined,
  };
}
