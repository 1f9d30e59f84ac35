import { expect } from 'chai';
import { InMemoryProductCache } from '../../../../services/catalog/src/adapters/in-memory-product-cache.ts';
import { productKey } from '../../../../services/catalog/src/adapters/product-cache.ts';
import { productCacheContract } from './product-cache.contract.ts';

productCacheContract('in-memory', () => {
  let now = 1_000_000;
  const ttlSeconds = 60;
  const cache = new InMemoryProductCache({ ttlSeconds, now: () => now });
  return Promise.resolve({
    cache,
    ttlSeconds,
    passTtl: () => {
      now += ttlSeconds * 1000 + 1;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});

describe('InMemoryProductCache', function () {
  it('when more entries are stored than it may keep, then the oldest go first', async function () {
    const cache = new InMemoryProductCache({ ttlSeconds: 60, maxEntries: 2 });
    const { generation } = await cache.lookup(productKey('a'));
    await cache.store(productKey('a'), generation, 1);
    await cache.store(productKey('b'), generation, 2);
    await cache.store(productKey('c'), generation, 3);
    expect(cache.size).to.equal(2);
    expect((await cache.lookup(productKey('a'))).value).to.equal(undefined);
    expect((await cache.lookup(productKey('c'))).value).to.equal(3);
  });
});
