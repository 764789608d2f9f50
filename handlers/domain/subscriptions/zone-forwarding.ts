import type { ZoneEntry } from '../../core/config';

/**
 * Set on a notification one zone hands to another. A zone never hands on a notification that
 * carries it: a notification travels one hop at most, and zones that disagree about an owner
 * answer an error (the store retries) instead of passing it around.
 */
export const forwardedFromHeader = 'serenya-forwarded-from';

/** The owner zone did not take the notification (down, unreachable, or refusing): the store must retry. */
export class ZoneUnavailableError extends Error {
  override name = 'ZoneUnavailableError';
}

/**
 * Hands an App Store notification to the zone that owns its account: the original `signedPayload`
 * only, to that zone's own webhook (its `homeApi` from the zone directory), which verifies it again
 * and applies it. Resolves to the owner's answer body once the owner answered 2xx; anything else is
 * `ZoneUnavailableError`, so the store is told to retry and the notification is never lost.
 */
export function createZoneForwarder(options: {
  zone: string;
  directory: Record<string, ZoneEntry>;
  /** The webhook's path under a zone's `homeApi`. */
  webhookPath: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}) {
  const send = options.fetch ?? fetch;
  return async (owner: string, signedPayload: string): Promise<unknown> => {
    const entry = Object.hasOwn(options.directory, owner) ? options.directory[owner] : undefined;
    if (!entry) throw new ZoneUnavailableError(`zone ${owner} is not in this zone's directory`);
    let res: Response;
    try {
      res = await send(`${entry.homeApi.replace(/\/$/, '')}${options.webhookPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [forwardedFromHeader]: options.zone },
        body: JSON.stringify({ signedPayload }),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch {
      throw new ZoneUnavailableError(`zone ${owner} could not be reached`);
    }
    const body = await res.json().catch(() => undefined);
    if (!res.ok) throw new ZoneUnavailableError(`zone ${owner} answered ${res.status}`);
    return body;
  };
}
