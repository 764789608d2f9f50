/** One purchase's state, as the stores last reported it (its own item, `itemKeys.purchase`). */
export interface PurchaseState {
  provider: 'apple' | 'google';
  status: 'active' | 'cancelled' | 'expired';
  /** ISO 8601; absent when the store named no end (then it lasts until a notification ends it). */
  expires_at?: string;
  /** The store's time of the notification that set this state (ms): its own order, per purchase. */
  event_time: number;
}

/** The plan the app sees (`current_subscription` on the user item), derived from all of the user's purchases. */
export interface PlanSummary {
  type: 'premium';
  status: PurchaseState['status'];
  provider: PurchaseState['provider'];
  expires_at?: string;
}

/** An active or cancelled purchase is premium until it expires; an expired one never again. */
const live = (p: PurchaseState) => p.status !== 'expired';
const lasts = (p: PurchaseState) => (p.expires_at === undefined ? Infinity : Date.parse(p.expires_at));

/**
 * The plan of several purchases: premium while any of them is. It describes the live purchase that
 * lasts longest (latest expiry, one without an expiry longest of all; an active one before a
 * cancelled one that ends as late), so the plan, with expiry judged when read, is premium exactly
 * as long as some purchase is. With none live, it describes the purchase reported last.
 * Undefined for no purchases (the user item's free plan stays).
 */
export function planOf(purchases: PurchaseState[]): PlanSummary | undefined {
  // Compared in order: live first; then the latest end (or, none live, the latest report); then active.
  const rank = (p: PurchaseState) => [+live(p), live(p) ? lasts(p) : p.event_time, +(p.status === 'active')];
  const better = (a: PurchaseState, b: PurchaseState) => {
    const [x, y] = [rank(a), rank(b)];
    const i = x.findIndex((v, k) => v !== y[k]);
    return i >= 0 && x[i]! > y[i]! ? a : b;
  };
  const chosen = purchases.reduce<PurchaseState | undefined>((best, p) => (best ? better(p, best) : p), undefined);
  if (!chosen) return undefined;
  return {
    type: 'premium',
    status: chosen.status,
    provider: chosen.provider,
    ...(chosen.expires_at ? { expires_at: chosen.expires_at } : {}),
  };
}
