import { expect } from 'chai';
import { InMemoryResponseCache } from '../../../../services/gateway/src/adapters/in-memory-response-cache.ts';
import { RedisResponseCache } from '../../../../services/gateway/src/adapters/redis-response-cache.ts';
import type { ResponseCache } from '../../../../services/gateway/src/adapters/response-cache.ts';
import { eachBackend, testRedis, type TestRedis } from '../../../support/stores.ts';
import { eventually } from '../../../support/wait.ts';

const entry = (body: string) => ({ status: 200, body, etag: `"${body.length}"` });

eachBackend('ResponseCache contract', (backend) => {
  let redis: TestRedis | undefined;
  let cache: ResponseCache;

  beforeEach(async () => {
    if (backend === 'real') {
      redis = await testRedis('gw-cache');
      cache = new RedisResponseCache({ client: redis.redis, keyPrefix: redis.prefix });
    } else cache = new InMemoryResponseCache();
  });
  afterEach(async () => {
    await redis?.close();
    redis = undefined;
  });

  it('when an answer is stored, then the same key returns it unchanged', async () => {
    await cache.set('product:a', entry('{"id":"a"}'), 60);
    expect(await cache.get('product:a')).to.deep.equal(entry('{"id":"a"}'));
    expect(await cache.get('product:b')).to.equal(undefined);
  });

  it('when the TTL has passed, then the entry is gone', async () => {
    const before = Date.now();
    await cache.set('product:a', entry('{}'), 1);
    const first = await cache.get('product:a');
    // Still there within the TTL (unless this machine took the whole second to set and get).
    if (Date.now() - before < 1000) expect(first).to.deep.equal(entry('{}'));
    await eventually(
      async () => (await cache.get('product:a')) === undefined,
      'the entry to expire (TTL 1 s)',
    );
  });

  it('when the cache is purged, then no earlier entry is served and new ones are', async () => {
    await cache.set('product:a', entry('{"v":1}'), 60);
    await cache.set('categories', entry('[]'), 60);
    await cache.purge();
    expect(await cache.get('product:a')).to.equal(undefined);
    expect(await cache.get('categories')).to.equal(undefined);
    await cache.set('product:a', entry('{"v":2}'), 60);
    expect(await cache.get('product:a')).to.deep.equal(entry('{"v":2}'));
  });
});

describe('RedisResponseCache across replicas', () => {
  let redis: TestRedis;
  beforeEach(async () => {
    redis = await testRedis('gw-cache2');
  });
  afterEach(() => redis.close());

  it('when another replica purges, then this one stops serving old entries once its generation is re-read', async () => {
    const a = new RedisResponseCache({ client: redis.redis, keyPrefix: redis.prefix, generationTtlMs: 0 });
    const b = new RedisResponseCache({ client: redis.redis, keyPrefix: redis.prefix, generationTtlMs: 0 });
    await a.set('product:a', entry('{"v":1}'), 60);
    expect(await b.get('product:a')).to.deep.equal(entry('{"v":1}'));
    await b.purge();
    expect(await a.get('product:a')).to.equal(undefined);
  });
});
