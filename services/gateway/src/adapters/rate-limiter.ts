/** The outcome of taking one request from a bucket. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Requests left in the bucket after this one (whole requests). */
  readonly remaining: number;
  /** When the request may be retried (0 when allowed). */
  readonly retryAfterMs: number;
  /** Until the bucket is full again. */
  readonly resetMs: number;
}

export interface RateLimit {
  /** Bucket size: the burst a client may send at once. */
  readonly capacity: number;
  /** Refill speed. */
  readonly perSecond: number;
}

/**
 * A token bucket per key, checked and taken in one step (one Lua script in Redis), so concurrent requests on
 * several gateway replicas never both take the last token.
 */
export interface RateLimiter {
  /**
   * Takes `cost` tokens (default 1) if the bucket holds at least one. A negative cost gives tokens back (up to the
   * capacity) and is always allowed: a sign-in takes a token before the password is checked and returns it on success.
   */
  take(key: string, limit: RateLimit, cost?: number): Promise<RateDecision>;
}

/** The bucket arithmetic both twins share; `tokens` may be fractional. */
export function refill(
  tokens: number,
  elapsedMs: number,
  limit: RateLimit,
  cost = 1,
): { tokens: number; decision: RateDecision } {
  const perMs = limit.perSecond / 1000;
  let now = Math.min(limit.capacity, tokens + Math.max(0, elapsedMs) * perMs);
  const allowed = cost < 0 || now >= 1;
  if (allowed) now = Math.min(limit.capacity, now - cost);
  return {
    tokens: now,
    decision: {
      allowed,
      remaining: Math.floor(now),
      retryAfterMs: allowed ? 0 : Math.ceil((1 - now) / perMs),
      resetMs: Math.ceil((limit.capacity - now) / perMs),
    },
  };
}
