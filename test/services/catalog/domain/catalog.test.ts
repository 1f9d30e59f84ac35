import { expect } from 'chai';
import {
  InMemoryEventBus,
  OutboxRelay,
  OutboxTopicNotDeclaredError,
  type OutboxDocKey,
  type OutboxEntry,
} from '@meshmart/kit/events';
import { InMemoryProductCache } from '../../../../services/catalog/src/adapters/in-memory-product-cache.ts';
import { InMemoryProductRepository } from '../../../../services/catalog/src/adapters/in-memory-product-repository.ts';
import { CATALOG_TOPIC, Catalog } from '../../../../services/catalog/src/domain/catalog.ts';
import { loadSeed } from '../../../../services/catalog/src/domain/seed.ts';
import { testKit } from '../../../support/stores.ts';

async function catalogWith(outboxWritten: (key: OutboxDocKey, entries: readonly OutboxEntry[]) => void) {
  const seed = loadSeed();
  const products = new InMemoryProductRepository();
  await products.seed(seed.products);
  const kit = testKit('catalog');
  const catalog = new Catalog({
    service: 'catalog',
    products,
    cache: new InMemoryProductCache({ ttlSeconds: 60 }),
    categories: seed.categories,
    metrics: kit.metrics,
    logger: kit.logger,
    outboxWritten,
  });
  return { catalog, products, productId: seed.products[0].id };
}

describe('catalog/domain/catalog', () => {
  it('when a product is updated, then the entries stored with it are offered with their document', async () => {
    const offered: { key: OutboxDocKey; entries: readonly OutboxEntry[] }[] = [];
    const { catalog, products, productId } = await catalogWith((key, entries) =>
      offered.push({ key, entries }),
    );
    await catalog.update(productId, { priceCents: 1234 }, 'admin-1');
    expect(offered).to.have.length(1);
    expect(offered[0].key).to.deep.equal({ collection: 'products', id: productId });
    expect(offered[0].entries.map((e) => e.topic)).to.deep.equal([CATALOG_TOPIC]);
    // The same entries the write stored, not copies made after it.
    const pending = await products.outbox.pending(10);
    expect(pending.map((p) => p.id)).to.deep.equal(offered[0].entries.map((e) => e.id));
  });

  it('when the relay it offers to does not publish catalog.events, then the write fails loudly instead of the event waiting forever', async () => {
    const bus = new InMemoryEventBus({ source: 'test' });
    const store = new InMemoryProductRepository();
    const relay = new OutboxRelay({ store: store.outbox, bus, topics: ['orders.events'] });
    const { catalog, productId } = await catalogWith((key, entries) => relay.offer(key, entries));
    try {
      let error: unknown;
      await catalog.update(productId, { priceCents: 1234 }).catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(OutboxTopicNotDeclaredError);
      expect((error as OutboxTopicNotDeclaredError).topic).to.equal(CATALOG_TOPIC);
    } finally {
      await bus.close();
    }
  });
});
