/** The part of `purchases.subscriptionsv2` a notification's state is read from. */
export interface SubscriptionPurchaseV2 {
  subscriptionState?: string;
  lineItems?: Array<{ productId?: string; expiryTime?: string }>;
  externalAccountIdentifiers?: { obfuscatedExternalAccountId?: string };
}

/** Play does not know the purchase token (404, or 410 for one long expired): retrying will not change that. */
export class PurchaseNotFoundError extends Error {
  override name = 'PurchaseNotFoundError';
}

/**
 * Google Play Developer API, the one call RTDN needs: Google says a notification is not the whole
 * truth and the state must be read with `purchases.subscriptionsv2.get`. The base URL is
 * configurable (the offline platform points it at its stand-in); the access token comes from a
 * provider (a service account in AWS).
 */
export function createPlayDeveloperClient(options: {
  baseUrl: string;
  accessToken: () => Promise<string>;
  timeoutMs?: number;
}) {
  return {
    async getSubscription(packageName: string, purchaseToken: string): Promise<SubscriptionPurchaseV2> {
      const url = `${options.baseUrl.replace(/\/$/, '')}/androidpublisher/v3/applications/${encodeURIComponent(packageName)}/purchases/subscriptionsv2/tokens/${encodeURIComponent(purchaseToken)}`;
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${await options.accessToken()}` },
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      if (res.status === 404 || res.status === 410)
        throw new PurchaseNotFoundError(`Play Developer API answered ${res.status}`);
      if (!res.ok) throw new Error(`Play Developer API answered ${res.status}`);
      return (await res.json()) as SubscriptionPurchaseV2;
    },
  };
}

export type PlayDeveloperClient = ReturnType<typeof createPlayDeveloperClient>;
