/**
 * Retries of DynamoDB work that another writer or DynamoDB's own throttling got in the way of: one
 * loop, and one pause per kind of setback, instead of a loop and constants per store.
 */

/** What an attempt returns when it lost and should run again after the policy's pause. */
export const again = Symbol('again');

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The pause before attempt `n` (1 for the first retry), in milliseconds. */
  pauseMs(n: number): number;
}

/**
 * An optimistic write lost to another one (a version moved, a transaction conflicted): read again
 * after a jittered pause that grows, so racing writers spread out.
 */
export const afterConflict: RetryPolicy = { attempts: 6, pauseMs: (n) => 10 + Math.random() * 40 * n };

/** DynamoDB left part of a batch unprocessed (throttled): an exponential pause, as it asks for. */
export const afterThrottling: RetryPolicy = { attempts: 9, pauseMs: (n) => 2 ** n * 10 };

/**
 * Runs `attempt` until it returns anything but `again`, pausing as the policy says; when the
 * attempts are spent, throws what `exhausted` makes (a `ContentionError` for contention: the client
 * retries, as contention is no fault of ours).
 */
export async function retrying<T>(
  policy: RetryPolicy,
  exhausted: () => Error,
  attempt: (n: number) => Promise<T | typeof again>,
): Promise<T> {
  for (let n = 0; n < policy.attempts; n++) {
    if (n) await new Promise((resolve) => setTimeout(resolve, policy.pauseMs(n)));
    const result = await attempt(n);
    if (result !== again) return result;
  }
  throw exhausted();
}
