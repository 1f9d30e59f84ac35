import { refill, type RateDecision, type RateLimit, type RateLimiter } from './rate-limiter.ts';

interface Bucket {
  tokens: number;
  at: number;
  expiresAt: number;
}

/** The in-process twin (local mode, one replica): same arithmetic as the Redis script. */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private takes = 0;

  constructor(props: { now?: () => number } = {}) {
    this.now = props.now ?? Date.now;
  }

  take(key: string, limit: RateLimit, cost = 1): Promise<RateDecision> {
    const now = this.now();
    if (++this.takes % 1000 === 0) this.sweep(now);
    const bucket = this.buckets.get(key);
    const current = bucket && bucket.expiresAt > now ? bucket : undefined;
    const { tokens, decision } = refill(
      current ? current.tokens : limit.capacity,
      current ? now - current.at : 0,
      limit,
      cost,
    );
    this.buckets.set(key, { tokens, at: now, expiresAt: now + decision.resetMs + 1000 });
    return Promise.resolve(decision);
  }

  /** Full buckets carry no information: forget them so idle clients cost no memory. */
  private sweep(now: number): void {
    for (const [key, b] of this.buckets) if (b.expiresAt <= now) this.buckets.delete(key);
  }
}
