/** The drain's defaults, in one place: study-drain's flags and study maintain's drains both read them. */
export const DRAIN_DEFAULTS = {
  /** --grace-period: -1, each pod's own terminationGracePeriodSeconds. */
  gracePeriodSeconds: -1,
  /** --concurrency: evictions in flight at most. */
  concurrency: 10,
  /** Each request's bound when --request-timeout is 0: a drain never waits on one request for ever. */
  requestTimeoutMs: 30_000,
} as const;
