/** Time, injected so tests can move it (token expiry, TTLs, timeouts). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
