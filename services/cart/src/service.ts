import { defineService, int, openStores, storeSettings, upstreamUrl } from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/catalogue';
import { upstreamPolicyFromEnv } from '@meshmart/kit/http';
import { cartApi } from '@meshmart/contracts';
import type { CartRepository } from './adapters/cart-repository.ts';
import type { CatalogClient } from './adapters/catalog-client.ts';
import { HttpCatalogClient } from './adapters/http-catalog-client.ts';
import { InMemoryCartRepository } from './adapters/in-memory-cart-repository.ts';
import { RedisCartRepository } from './adapters/redis-cart-repository.ts';
import { CartService } from './domain/cart-service.ts';

export const settings = {
  ...storeSettings('cart'),
  catalogUrl: upstreamUrl('catalog'),
  catalogTimeoutMs: int({
    env: 'CATALOG_TIMEOUT_MS',
    default: 1000,
    min: 1,
    doc: 'deadline of one product lookup at the catalog, retries included',
  }),
  cartTtlSeconds: int({
    env: 'CART_TTL_SECONDS',
    default: 7 * 24 * 3600,
    min: 1,
    doc: 'a cart is deleted this long after its last change',
  }),
  maxQuantityPerItem: int({
    env: 'MAX_QUANTITY_PER_ITEM',
    default: cartApi.DEFAULT_MAX_QUANTITY_PER_ITEM,
    min: 1,
    max: 10_000,
    doc: 'largest quantity of one product in a cart',
  }),
  maxLines: int({
    env: 'CART_MAX_LINES',
    default: 50,
    min: 1,
    max: 1000,
    doc: 'most different products in a cart',
  }),
};

/** What a test or an embedder may put in place of what the config builds. */
export interface CartOverrides {
  /** The catalog lookups, instead of HTTP to CATALOG_URL (e.g. InMemoryCatalogClient); closed with the service. */
  readonly catalog?: CatalogClient;
}

export const definition = defineService({
  service: 'cart',
  defaultPort: catalogueEntry('cart').port,
  settings,
  build: async (kit, overrides: CartOverrides = {}) => {
    const { config, logger } = kit;
    const stores = await openStores({ ...kit, service: 'cart', mongo: false });
    const carts: CartRepository = stores.redis
      ? new RedisCartRepository({
          client: stores.redis,
          ttlSeconds: config.cartTtlSeconds,
          keyPrefix: stores.redisKeyPrefix,
        })
      : new InMemoryCartRepository({ ttlSeconds: config.cartTtlSeconds });
    const catalog =
      overrides.catalog ??
      new HttpCatalogClient({
        baseUrl: config.catalogUrl,
        timeoutMs: config.catalogTimeoutMs,
        policy: upstreamPolicyFromEnv('catalog'),
        registry: kit.metrics.registry,
        logger,
      });
    const service = new CartService({
      carts,
      catalog,
      limits: { maxQuantityPerItem: config.maxQuantityPerItem, maxLines: config.maxLines },
    });
    const { createApp } = await import('./app.ts');
    return {
      app: createApp({
        logger,
        metrics: kit.metrics,
        health: kit.health,
        service,
        bodyLimitBytes: config.bodyLimitBytes,
        slowRequestMs: config.slowRequestMs,
      }),
      closers: [{ name: 'catalog-client', close: () => catalog.close() }, ...stores.closers],
      parts: { carts, catalog, service },
    };
  },
});
