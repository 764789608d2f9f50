import { uuidPattern } from '../../../contract';
import { DomainError } from '../../core/errors';

/** What a verified store notification means for one user, whichever store sent it. */
export interface SubscriptionEvent {
  provider: 'apple' | 'google';
  /** Apple's `notificationUUID` or Pub/Sub's `messageId`: a second delivery is a duplicate. */
  notificationId: string;
  /** The notification's own timestamp (ms): an older one never overwrites newer state. */
  eventTime: number;
  /**
   * The purchase's account token (Apple's `appAccountToken`, Play's `obfuscatedExternalAccountId`):
   * the profile's random `storeAccountToken`, never the user id, so a purchase names nobody else.
   */
  accountToken?: string;
  /** The new state, or undefined when the notification changes nothing (a test, an informational type). */
  state?: {
    type: 'premium';
    status: 'active' | 'cancelled' | 'expired';
    expiresAt?: string;
    /** Apple's original transaction id or Google's purchase token; stored only as a hash. */
    purchaseReference: string;
  };
  /** The notification's type, for logs (never its payload). */
  kind: string;
}

/** A notification that verified but does not make sense: 400, and nothing changes. */
export class MalformedNotificationError extends DomainError {
  override name = 'MalformedNotificationError';
}

/** The apps send our store account token (a UUID) back through the stores, in whichever case the store keeps. */
export const storeAccountTokenPattern = new RegExp(`^${uuidPattern}$`, 'i');
