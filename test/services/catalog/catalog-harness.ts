import { Redis } from 'ioredis';
import { OutboxRelay, type EventBus } from '@meshmart/kit/events';
import { createApp } from '../../../services/catalog/src/app.ts';
import { InMemoryProductCache } from '../../../services/catalog/src/adapters/in-memory-product-cache.ts';
import { InMemoryProductRepository } from '../../../services/catalog/src/adapters/in-memory-product-repository.ts';
import { MongoProductRepository } from '../../../services/catalog/src/adapters/mongo-product-repository.ts';
import type { ProductCache } from '../../../services/catalog/src/adapters/product-cache.ts';
import type { ProductRepository } from '../../../services/catalog/src/adapters/product-repository.ts';
import { RedisProductCache } from '../../../services/catalog/src/adapters/redis-product-cache.ts';
import { Catalog, CATALOG_TOPIC } from '../../../services/catalog/src/domain/catalog.ts';
import { imagesDir, loadSeed, type SeedData } from '../../../services/catalog/src/domain/seed.ts';
import { testBus, testKit, testMongo, testRedis, type Backend } from '../../support/stores.ts';
import { testenv } from '../../support/testenv.ts';
import { TEST_ADMIN_TOKEN } from '../../support/admin.ts';

export interface CatalogHarness {
  readonly app: ReturnType<typeof createApp>;
  readonly catalog: Catalog;
  readonly products: ProductRepository;
  readonly cache: ProductCache;
  readonly bus: EventBus;
  readonly seed: SeedData;
  readonly logs: Record<string, unknown>[];
  /** Cuts the cache's connection (real backend), as when Redis goes away. */
  cutCache(): void;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** `broken`: the cache fails every call (real: a Redis client, set up as the kit's, pointed at a closed port). */
  readonly cache?: 'working' | 'broken';
  readonly bodyLimitBytes?: number;
}

/** A failing cache for the memory backend: what a dead Redis looks like to the catalog. */
class BrokenCache implements ProductCache {
  lookup(): Promise<never> {
    return Promise.reject(new Error('cache down'));
  }
  store(): Promise<never> {
    return Promise.reject(new Error('cache down'));
  }
  invalidate(): Promise<never> {
    return Promise.reject(new Error('cache down'));
  }
}

/** The catalog app wired the way service.ts wires it, on the twins or on FerretDB + Redis, seeded. */
export async function catalogHarness(
  backend: Backend,
  options: HarnessOptions = {},
): Promise<CatalogHarness> {
  const kit = testKit('catalog');
  const seed = loadSeed();
  const closers: (() => Promise<void>)[] = [];
  let cutCache = () => undefined as void;
  let products: ProductRepository;
  let cache: ProductCache;
  let bus: EventBus;
  if (backend === 'memory') {
    products = new InMemoryProductRepository();
    cache = options.cache === 'broken' ? new BrokenCache() : new InMemoryProductCache({ ttlSeconds: 60 });
    bus = testBus('memory', 'catalog');
  } else {
    const mongo = await testMongo('catalog');
    const redis = await testRedis('catalog');
    closers.push(
      () => mongo.close(),
      () => redis.close(),
    );
    const mongoProducts = new MongoProductRepository(mongo.db);
    await mongoProducts.ensureIndexes();
    products = mongoProducts;
    // The cache gets its own client, so a test can cut it without touching the bus's or the cleanup's.
    const client =
      options.cache === 'broken'
        ? // As connectRedis sets it up: commands queue while it reconnects, so only the cache's timeout ends them.
          new Redis('redis://127.0.0.1:1', {
            lazyConnect: true,
            maxRetriesPerRequest: 3,
            retryStrategy: (times) => Math.min(times * 200, 2000),
          })
        : new Redis(testenv('REDIS_URL'), { lazyConnect: true, maxRetriesPerRequest: 3 });
    client.on('error', () => undefined);
    if (options.cache === 'broken') client.connect().catch(() => undefined);
    else await client.connect();
    closers.push(() => Promise.resolve(client.disconnect()));
    cutCache = () => client.disconnect();
    cache = new RedisProductCache({ client, ttlSeconds: 60, keyPrefix: redis.prefix, timeoutMs: 200 });
    bus = testBus('real', 'catalog', redis);
  }
  await products.seed(seed.products);
  const relay = new OutboxRelay({
    store: products.outbox,
    bus,
    topics: [CATALOG_TOPIC],
    logger: kit.logger,
    intervalMs: 50,
  });
  relay.start();
  const catalog = new Catalog({
    service: 'catalog',
    products,
    cache,
    categories: seed.categories,
    metrics: kit.metrics,
    logger: kit.logger,
    onEventsQueued: () => relay.nudge(),
  });
  const app = createApp({
    ...kit,
    catalog,
    imagesDir: imagesDir(),
    adminToken: TEST_ADMIN_TOKEN,
    ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
  });
  return {
    app,
    catalog,
    products,
    cache,
    bus,
    seed,
    logs: kit.logs,
    cutCache,
    async close() {
      await relay.stop();
      await bus.close();
      for (const close of closers) await close();
    },
  };
}
