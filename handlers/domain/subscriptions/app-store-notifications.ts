import type { X509Certificate } from 'node:crypto';
import { MAX_SIGNED_AGE_MS, UntrustedSignatureError, verifyAppleJws } from './apple-jws';
import { MalformedNotificationError, storeAccountTokenPattern, type SubscriptionEvent } from './subscription-event';

export interface AppStoreConfig {
  bundleId: string;
  environment: 'Production' | 'Sandbox';
  /** Required in production, as Apple's own verifier requires it. */
  appAppleId?: number;
}

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The store's word for this app and environment, or the notification is not ours to trust. */
function checkAudience(payload: Record<string, unknown>, config: AppStoreConfig) {
  if (payload.bundleId !== config.bundleId) throw new UntrustedSignatureError('bundleId is not this app');
  if (payload.environment !== config.environment) throw new UntrustedSignatureError('environment is not this one');
}

/**
 * App Store Server Notifications v2: verifies `signedPayload` and the transaction and renewal
 * info inside it, checks they are for this app in this environment, and maps the notification
 * to a subscription state. The user is the one whose `storeAccountToken` the transaction's
 * `appAccountToken` is (the app sets it at purchase).
 */
export function readAppStoreNotification(
  signedPayload: string,
  roots: X509Certificate[],
  config: AppStoreConfig,
  now = new Date(),
): SubscriptionEvent {
  // The notification must be fresh; the transaction and renewal inside it may be older.
  const notification = verifyAppleJws(signedPayload, roots, { now, maxAgeMs: MAX_SIGNED_AGE_MS });
  const data = notification.data as Record<string, unknown> | undefined;
  const kind = str(notification.notificationType);
  const notificationId = str(notification.notificationUUID);
  const eventTime = num(notification.signedDate)!;
  if (!kind || !notificationId)
    throw new MalformedNotificationError('notificationType and notificationUUID are required');
  if (typeof data !== 'object' || data === null) throw new MalformedNotificationError('data is missing');
  // A TEST notification too is for this app in this environment, or it is not ours.
  checkAudience(data, config);
  if (kind === 'TEST') return { provider: 'apple', notificationId, eventTime, kind };
  if (config.environment === 'Production' && data.appAppleId !== config.appAppleId)
    throw new UntrustedSignatureError('appAppleId is not this app');

  const signedTransaction = str(data.signedTransactionInfo);
  if (!signedTransaction) throw new MalformedNotificationError('signedTransactionInfo is missing');
  const transaction = verifyAppleJws(signedTransaction, roots, { now });
  checkAudience(transaction, config);
  const renewal = str(data.signedRenewalInfo)
    ? verifyAppleJws(str(data.signedRenewalInfo)!, roots, { now })
    : undefined;
  if (renewal && renewal.environment !== config.environment)
    throw new UntrustedSignatureError('renewal environment is not this one');

  const purchaseReference = str(transaction.originalTransactionId);
  if (!purchaseReference) throw new MalformedNotificationError('originalTransactionId is missing');
  const token = str(transaction.appAccountToken);
  const accountToken = token && storeAccountTokenPattern.test(token) ? token.toLowerCase() : undefined;
  const expires = num(transaction.expiresDate);
  const graceEnds = num(renewal?.gracePeriodExpiresDate);
  const expiresAt = expires !== undefined ? new Date(expires).toISOString() : undefined;
  const subtype = str(notification.subtype);

  const state = (status: 'active' | 'cancelled' | 'expired', until = expiresAt) => ({
    type: 'premium' as const,
    status,
    expiresAt: until,
    purchaseReference,
  });
  const base = {
    provider: 'apple' as const,
    notificationId,
    eventTime,
    accountToken,
    kind: subtype ? `${kind}/${subtype}` : kind,
  };
  switch (kind) {
    case 'SUBSCRIBED':
    case 'DID_RENEW':
    case 'OFFER_REDEEMED':
    case 'DID_CHANGE_RENEWAL_PREF':
      return { ...base, state: state('active') };
    case 'DID_CHANGE_RENEWAL_STATUS':
      // Auto-renew off: still premium until it expires, then it ends.
      return { ...base, state: state(subtype === 'AUTO_RENEW_DISABLED' ? 'cancelled' : 'active') };
    case 'DID_FAIL_TO_RENEW':
      return {
        ...base,
        state:
          subtype === 'GRACE_PERIOD' && graceEnds
            ? state('active', new Date(graceEnds).toISOString())
            : state('expired'),
      };
    case 'EXPIRED':
    case 'GRACE_PERIOD_EXPIRED':
    case 'REFUND':
    case 'REVOKE':
      return { ...base, state: state('expired') };
    default:
      return base;
  }
}
