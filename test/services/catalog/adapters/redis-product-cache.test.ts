import { expect } from 'chai';
import { Redis } from 'ioredis';
import { productKey } from '../../../../services/catalog/src/adapters/product-cache.ts';
import { RedisProductCache } from '../../../../services/catalog/src/adapters/redis-product-cache.ts';
import { eventually, testRedis, type TestRedis } from '../../../support/stores.ts';
import { productCacheContract } from './product-cache.contract.ts';

productCacheContract('redis', async () => {
  const redis = await testRedis('catalog');
  const ttlSeconds = 1;
  const cache = new RedisProductCache({ client: redis.redis, ttlSeconds, keyPrefix: redis.prefix });
  return {
    cache,
    ttlSeconds,
    // Redis expires keys itself; poll until the entry is gone rather than sleeping a guessed time.
    passTtl: () =>
      eventually(
        async () => (await cache.lookup(productKey('a1'))).value === undefined,
        'the entry to expire',
      ),
    async close() {
      await redis.close();
    },
  };
});

const lamp = { id: 'a1', name: 'Alpha Lamp', priceCents: 1000 };

describe('RedisProductCache', function () {
  let redis: TestRedis;
  beforeEach(async function () {
    redis = await testRedis('catalog');
  });
  afterEach(async function () {
    await redis.close();
  });

  it('when an entry is stored, then its key is under the prefix with the TTL set', async function () {
    const cache = new RedisProductCache({ client: redis.redis, ttlSeconds: 60, keyPrefix: redis.prefix });
    const { generation } = await cache.lookup(productKey('a1'));
    await cache.store(productKey('a1'), generation, { id: 'a1' });
    const key = `${redis.prefix}cache:${generation}:product:a1`;
    const ttl = await redis.redis.ttl(key);
    expect(ttl).to.be.within(1, 60);
  });

  describe('when two caches share the server', function () {
    let other: TestRedis;
    let cache: RedisProductCache;
    let replica: RedisProductCache;
    let isolated: RedisProductCache;
    beforeEach(async function () {
      other = await testRedis('catalog');
      cache = new RedisProductCache({ client: redis.redis, ttlSeconds: 60, keyPrefix: redis.prefix });
      replica = new RedisProductCache({ client: other.redis, ttlSeconds: 60, keyPrefix: redis.prefix });
      isolated = new RedisProductCache({ client: other.redis, ttlSeconds: 60, keyPrefix: other.prefix });
    });
    afterEach(async function () {
      await other.close();
    });

    it('when another replica invalidates, then this one misses too', async function () {
      const { generation } = await cache.lookup(productKey('a1'));
      await cache.store(productKey('a1'), generation, lamp);
      expect((await replica.lookup(productKey('a1'))).value).to.deep.equal(lamp);
      await replica.invalidate('a1');
      expect((await cache.lookup(productKey('a1'))).value).to.equal(undefined);
    });

    it('when a cache has another key prefix, then it sees none of these entries', async function () {
      const { generation } = await cache.lookup(productKey('a1'));
      await cache.store(productKey('a1'), generation, lamp);
      expect((await isolated.lookup(productKey('a1'))).value).to.equal(undefined);
      await isolated.invalidate('a1');
      expect((await cache.lookup(productKey('a1'))).value).to.deep.equal(lamp);
    });
  });

  it('when Redis cannot be reached, then calls fail instead of waiting', async function () {
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => undefined);
    const cache = new RedisProductCache({ client: dead, ttlSeconds: 60, keyPrefix: redis.prefix });
    try {
      let failed: unknown;
      await cache.lookup(productKey('a1')).catch((err: unknown) => (failed = err));
      expect(failed).to.be.instanceOf(Error);
    } finally {
      dead.disconnect();
    }
  });
});
