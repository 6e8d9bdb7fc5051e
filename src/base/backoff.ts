/** The one retry/backoff helper: exponential, capped, honouring a server's Retry-After. */
export interface Backoff {
  /** The delay before the next attempt, in ms; call once per failed attempt. */
  next(retryAfterSeconds?: number): number;
  reset(): void;
  readonly attempts: number;
}

export function exponentialBackoff(initialMs = 1000, maxMs = 5000, factor = 2): Backoff {
  let attempts = 0;
  return {
    next(retryAfterSeconds?: number): number {
      const base = Math.min(maxMs, initialMs * factor ** attempts);
      attempts++;
      // A server's Retry-After is a floor, never beyond our cap.
      const floor = retryAfterSeconds && retryAfterSeconds > 0 ? Math.min(maxMs, retryAfterSeconds * 1000) : 0;
      return Math.max(base, floor);
    },
    reset(): void {
      attempts = 0;
    },
    get attempts(): number {
      return attempts;
    },
  };
}
