import { expect } from 'chai';
import type { ProductCache } from '../../../../services/catalog/src/adapters/product-cache.ts';
import { listKey, productKey } from '../../../../services/catalog/src/adapters/product-cache.ts';

export interface CacheHarness {
  readonly cache: ProductCache;
  /** The TTL the caches were made with, in seconds. */
  readonly ttlSeconds: number;
  /** Lets the TTL run out (a fake clock for the twin, real waiting for Redis). */
  passTtl(): Promise<void>;
  close(): Promise<void>;
}

const lamp = { id: 'a1', name: 'Alpha Lamp', priceCents: 1000 };

/** What every ProductCache must do, run against the in-memory twin and Redis. */
export function productCacheContract(name: string, make: () => Promise<CacheHarness>): void {
  describe(`ProductCache contract: ${name}`, function () {
    let h: CacheHarness;
    beforeEach(async function () {
      h = await make();
    });
    afterEach(async function () {
      await h.close();
    });

    it('when nothing was stored, then a lookup misses and names its generation', async function () {
      const found = await h.cache.lookup(productKey('a1'));
      expect(found.value).to.equal(undefined);
      expect(found.generation).to.be.a('string');
    });

    it('when a value is stored under the current generation, then lookups hit with an equal value', async function () {
      const { generation } = await h.cache.lookup(productKey('a1'));
      await h.cache.store(productKey('a1'), generation, lamp);
      expect((await h.cache.lookup(productKey('a1'))).value).to.deep.equal(lamp);
      expect((await h.cache.lookup(productKey('b1'))).value).to.equal(undefined);
    });

    it('when a caller changes a value it got, then the cached value is unchanged', async function () {
      const { generation } = await h.cache.lookup(productKey('a1'));
      await h.cache.store(productKey('a1'), generation, lamp);
      const got = (await h.cache.lookup<typeof lamp>(productKey('a1'))).value!;
      got.priceCents = 1;
      expect((await h.cache.lookup(productKey('a1'))).value).to.deep.equal(lamp);
    });

    it('when a product is invalidated, then its entry and every list entry miss', async function () {
      const { generation } = await h.cache.lookup(productKey('a1'));
      await h.cache.store(productKey('a1'), generation, lamp);
      await h.cache.store(productKey('b1'), generation, { id: 'b1' });
      await h.cache.store(listKey('q=&page=1'), generation, { items: [lamp] });
      await h.cache.invalidate('a1');
      const after = await h.cache.lookup(productKey('a1'));
      expect(after.value).to.equal(undefined);
      expect(after.generation).to.not.equal(generation);
      expect((await h.cache.lookup(listKey('q=&page=1'))).value).to.equal(undefined);
    });

    it('when a reader stores what it read before an invalidation, then nobody sees that stale value', async function () {
      const { generation } = await h.cache.lookup(productKey('a1'));
      await h.cache.invalidate('a1');
      await h.cache.store(productKey('a1'), generation, lamp);
      expect((await h.cache.lookup(productKey('a1'))).value).to.equal(undefined);
    });

    it('when the TTL has passed, then the entry is gone', async function () {
      const { generation } = await h.cache.lookup(productKey('a1'));
      await h.cache.store(productKey('a1'), generation, lamp);
      expect((await h.cache.lookup(productKey('a1'))).value).to.deep.equal(lamp);
      await h.passTtl();
      expect((await h.cache.lookup(productKey('a1'))).value).to.equal(undefined);
    });
  });
}
