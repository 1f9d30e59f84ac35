import { defineService, int, openStores, storeSettings } from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/catalogue';
import { OutboxRelay } from '@meshmart/kit/events';
import { InMemoryProductCache } from './adapters/in-memory-product-cache.ts';
import { InMemoryProductRepository } from './adapters/in-memory-product-repository.ts';
import { MongoProductRepository } from './adapters/mongo-product-repository.ts';
import type { ProductCache } from './adapters/product-cache.ts';
import type { ProductRepository } from './adapters/product-repository.ts';
import { RedisProductCache } from './adapters/redis-product-cache.ts';
import { Catalog, CATALOG_TOPIC } from './domain/catalog.ts';
import { imagesDir, loadSeed } from './domain/seed.ts';

/** What a test or an embedder may put in place of what the config builds. */
export interface CatalogOverrides {
  /** The product cache, instead of Redis (REDIS_URL) or the in-memory one: e.g. a cache that fails every call. */
  readonly cache?: ProductCache;
}

export const definition = defineService({
  service: 'catalog',
  defaultPort: catalogueEntry('catalog').port,
  settings: {
    ...storeSettings('catalog'),
    cacheTtlSeconds: int({
      env: 'CACHE_TTL_SECONDS',
      default: 60,
      min: 1,
      max: 86400,
      doc: 'how long a cached product or page lives (admin updates invalidate sooner)',
    }),
    cacheTimeoutMs: int({
      env: 'CACHE_TIMEOUT_MS',
      default: 250,
      min: 1,
      max: 10000,
      doc: 'a Redis cache call slower than this is abandoned and the read goes to the store',
    }),
  },
  build: async (kit, overrides: CatalogOverrides = {}) => {
    const { createApp } = await import('./app.ts'); // after tracing has started

    const { config, logger, metrics, health } = kit;
    const stores = await openStores({ ...kit, service: 'catalog' });
    let products: ProductRepository;
    if (stores.db) {
      const mongo = new MongoProductRepository(stores.db);
      await mongo.ensureIndexes();
      products = mongo;
    } else {
      products = new InMemoryProductRepository();
    }
    const seed = loadSeed();
    const inserted = await products.seed(seed.products);
    logger.info({ inserted, products: await products.count() }, 'catalog seeded');
    const cache =
      overrides.cache ??
      (stores.redis
        ? new RedisProductCache({
            client: stores.redis,
            ttlSeconds: config.cacheTtlSeconds,
            keyPrefix: stores.redisKeyPrefix,
            timeoutMs: config.cacheTimeoutMs,
          })
        : new InMemoryProductCache({ ttlSeconds: config.cacheTtlSeconds }));
    const relay = new OutboxRelay({
      store: products.outbox,
      bus: stores.bus,
      topics: [CATALOG_TOPIC],
      logger,
    });
    relay.start();
    const catalog = new Catalog({
      service: 'catalog',
      products,
      cache,
      categories: seed.categories,
      metrics,
      logger,
      outboxWritten: (key, entries) => relay.offer(key, entries),
    });
    const app = createApp({
      logger,
      metrics,
      health,
      catalog,
      imagesDir: imagesDir(),
      bodyLimitBytes: config.bodyLimitBytes,
      slowRequestMs: config.slowRequestMs,
      adminToken: config.adminToken,
    });
    return {
      app,
      closers: [{ name: 'outbox-relay', close: () => relay.stop() }, ...stores.closers],
      parts: { catalog, products, cache, seed, redis: stores.redis },
    };
  },
});
