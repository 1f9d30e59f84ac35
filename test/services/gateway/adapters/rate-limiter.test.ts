import { expect } from 'chai';
import { InMemoryRateLimiter } from '../../../../services/gateway/src/adapters/in-memory-rate-limiter.ts';
import { RedisRateLimiter } from '../../../../services/gateway/src/adapters/redis-rate-limiter.ts';
import type { RateLimiter } from '../../../../services/gateway/src/adapters/rate-limiter.ts';
import { eachBackend, testRedis, uniqueName, type TestRedis } from '../../../support/stores.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

eachBackend('RateLimiter contract', (backend) => {
  let redis: TestRedis | undefined;
  let limiter: RateLimiter;

  beforeEach(async () => {
    if (backend === 'real') {
      redis = await testRedis('gw-ratelimit');
      limiter = new RedisRateLimiter({ client: redis.redis, keyPrefix: redis.prefix });
    } else limiter = new InMemoryRateLimiter();
  });
  afterEach(async () => {
    await redis?.close();
    redis = undefined;
  });

  it('when a client sends up to the bucket size, then every request is allowed and remaining counts down', async () => {
    const key = uniqueName('k');
    const limit = { capacity: 3, perSecond: 0.01 };
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = await limiter.take(key, limit);
      expect(d.allowed).to.equal(true);
      expect(d.retryAfterMs).to.equal(0);
      remaining.push(d.remaining);
    }
    expect(remaining).to.deep.equal([2, 1, 0]);
  });

  it('when the bucket is empty, then the request is refused with the wait until the next token', async () => {
    const key = uniqueName('k');
    const limit = { capacity: 2, perSecond: 1 };
    await limiter.take(key, limit);
    await limiter.take(key, limit);
    const refused = await limiter.take(key, limit);
    expect(refused.allowed).to.equal(false);
    expect(refused.remaining).to.equal(0);
    expect(refused.retryAfterMs).to.be.within(1, 1000);
    expect(refused.resetMs).to.be.within(1, 2000);
  });

  it('when the wait has passed, then the client is allowed again', async () => {
    const key = uniqueName('k');
    const limit = { capacity: 1, perSecond: 20 };
    expect((await limiter.take(key, limit)).allowed).to.equal(true);
    const refused = await limiter.take(key, limit);
    expect(refused.allowed).to.equal(false);
    // Time-based: wait the advertised retryAfterMs (and a little, for clock rounding) and ask once: a poll would not check
    // the advertised wait. A slow machine only lets more time pass, which refills the bucket further.
    await sleep(refused.retryAfterMs + 20);
    expect((await limiter.take(key, limit)).allowed).to.equal(true);
  });

  it('when two keys are used, then each has its own bucket', async () => {
    const limit = { capacity: 1, perSecond: 0.01 };
    const a = uniqueName('a');
    const b = uniqueName('b');
    expect((await limiter.take(a, limit)).allowed).to.equal(true);
    expect((await limiter.take(a, limit)).allowed).to.equal(false);
    expect((await limiter.take(b, limit)).allowed).to.equal(true);
  });

  it('when a token is given back, then the bucket has it again, never more than its capacity', async () => {
    const key = uniqueName('refund');
    const limit = { capacity: 2, perSecond: 0.001 };
    await limiter.take(key, limit);
    await limiter.take(key, limit);
    expect((await limiter.take(key, limit)).allowed).to.equal(false);
    const back = await limiter.take(key, limit, -1);
    expect(back).to.include({ allowed: true, remaining: 1 });
    expect((await limiter.take(key, limit)).allowed).to.equal(true);
    for (let i = 0; i < 5; i++) await limiter.take(key, limit, -1);
    expect((await limiter.take(uniqueName('fresh'), limit, -1)).remaining).to.equal(2);
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push((await limiter.take(key, limit)).allowed);
    expect(taken).to.deep.equal([true, true, false]);
  });

  it('when 30 requests race for 5 tokens, then exactly 5 are allowed', async () => {
    const key = uniqueName('race');
    const limit = { capacity: 5, perSecond: 0.001 };
    const decisions = await Promise.all(Array.from({ length: 30 }, () => limiter.take(key, limit)));
    expect(decisions.filter((d) => d.allowed)).to.have.length(5);
  });
});
