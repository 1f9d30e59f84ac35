import type { RequestListener } from 'node:http';
import { Redis } from 'ioredis';
import { buildService } from '@meshmart/kit';
import type { EventBus } from '@meshmart/kit/events';
import type { ProductCache } from '../../../services/catalog/src/adapters/product-cache.ts';
import type { ProductRepository } from '../../../services/catalog/src/adapters/product-repository.ts';
import { RedisProductCache } from '../../../services/catalog/src/adapters/redis-product-cache.ts';
import type { Catalog } from '../../../services/catalog/src/domain/catalog.ts';
import type { SeedData } from '../../../services/catalog/src/domain/seed.ts';
import { definition } from '../../../services/catalog/src/service.ts';
import { storesEnv } from '../../support/service-env.ts';
import { testBus, testKit, type Backend } from '../../support/stores.ts';
import { TEST_ADMIN_TOKEN } from '../../support/admin.ts';

export interface CatalogHarness {
  readonly app: RequestListener;
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

/**
 * The catalog built by its definition (service.ts), on the twins or on FerretDB + Redis, seeded; its bus is the
 * host's (the harness's `bus`), so a test can subscribe to what it publishes.
 */
export async function catalogHarness(
  backend: Backend,
  options: HarnessOptions = {},
): Promise<CatalogHarness> {
  const kit = testKit('catalog');
  const stores = await storesEnv(backend, 'catalog');
  const bus = testBus(backend, 'catalog', stores.redis);
  let broken: { cache: ProductCache; close(): void } | undefined;
  if (options.cache === 'broken') {
    if (backend === 'memory') broken = { cache: new BrokenCache(), close: () => undefined };
    else {
      // As connectRedis sets it up, at a closed port: commands queue while it reconnects, so only the cache's
      // timeout ends them.
      const client = new Redis('redis://127.0.0.1:1', {
        lazyConnect: true,
        maxRetriesPerRequest: 3,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      });
      client.on('error', () => undefined);
      client.connect().catch(() => undefined);
      const cache = new RedisProductCache({ client, ttlSeconds: 60, keyPrefix: 'broken:', timeoutMs: 200 });
      broken = { cache, close: () => client.disconnect() };
    }
  }
  const catalog = await buildService(definition, {
    env: {
      ...stores.env,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      CACHE_TIMEOUT_MS: '200',
      ...(options.bodyLimitBytes !== undefined ? { BODY_LIMIT_BYTES: String(options.bodyLimitBytes) } : {}),
    },
    host: { bus },
    ...(broken ? { overrides: { cache: broken.cache } } : {}),
    logger: kit.logger,
  });
  const { parts } = catalog;
  return {
    app: catalog.app,
    catalog: parts.catalog,
    products: parts.products,
    cache: parts.cache,
    bus,
    seed: parts.seed,
    logs: kit.logs,
    // The cache's own connection (the bus is the harness's): as when Redis goes away.
    cutCache: () => parts.redis?.disconnect(),
    async close() {
      await catalog.close();
      broken?.close();
      await bus.close();
      await stores.close();
    },
  };
}
