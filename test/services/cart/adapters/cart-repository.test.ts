import { setTimeout as sleep } from 'node:timers/promises';
import { InMemoryCartRepository } from '../../../../services/cart/src/adapters/in-memory-cart-repository.ts';
import { RedisCartRepository } from '../../../../services/cart/src/adapters/redis-cart-repository.ts';
import { testRedis } from '../../../support/stores.ts';
import { cartRepositoryContract } from './cart-repository.contract.ts';

cartRepositoryContract('in-memory twin', (ttlSeconds) => {
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const repo = new InMemoryCartRepository({ ttlSeconds, now: () => now });
  return Promise.resolve({
    repo,
    pass: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    now: () => now,
    close: () => Promise.resolve(),
  });
});

cartRepositoryContract('Redis', async (ttlSeconds) => {
  const redis = await testRedis('cart');
  const repo = new RedisCartRepository({ client: redis.redis, ttlSeconds, keyPrefix: redis.prefix });
  return {
    repo,
    pass: (ms) => sleep(ms), // the TTL is Redis's own: real time has to pass
    now: () => Date.now(),
    close: () => redis.close(),
  };
});
