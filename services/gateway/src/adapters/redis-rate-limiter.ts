import type { Redis } from 'ioredis';
import type { RateDecision, RateLimit, RateLimiter } from './rate-limiter.ts';

/**
 * Refill, check and take in one script, on Redis's own clock (TIME) so replicas with skewed clocks agree. The bucket
 * expires once it would be full again: an idle client leaves no key behind.
 */
const TAKE = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
local allowed = 0
local retry = 0
if cost < 0 or tokens >= 1 then
  tokens = math.min(capacity, tokens - cost)
  allowed = 1
else
  retry = math.ceil((1 - tokens) / perMs)
end
local reset = math.ceil((capacity - tokens) / perMs)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], reset + 1000)
return { allowed, math.floor(tokens), retry, reset }
`;

export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly props: { client: Redis; keyPrefix: string }) {}

  async take(key: string, limit: RateLimit, cost = 1): Promise<RateDecision> {
    const [allowed, remaining, retryAfterMs, resetMs] = (await this.props.client.eval(
      TAKE,
      1,
      `${this.props.keyPrefix}ratelimit:${key}`,
      limit.capacity,
      limit.perSecond / 1000,
      cost,
    )) as [number, number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
  }
}
