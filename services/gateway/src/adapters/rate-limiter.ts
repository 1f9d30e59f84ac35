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
  take(key: string, limit: RateLimit): Promise<RateDecision>;
}

/** The bucket arithmetic both twins share; `tokens` may be fractional. */
export function refill(
  tokens: number,
  elapsedMs: number,
  limit: RateLimit,
): { tokens: number; decision: RateDecision } {
  const perMs = limit.perSecond / 1000;
  let now = Math.min(limit.capacity, tokens + Math.max(0, elapsedMs) * perMs);
  const allowed = now >= 1;
  if (allowed) now -= 1;
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
