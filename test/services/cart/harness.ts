import { InMemoryCartRepository } from '../../../services/cart/src/adapters/in-memory-cart-repository.ts';
import { InMemoryCatalogClient } from '../../../services/cart/src/adapters/in-memory-catalog-client.ts';
import { RedisCartRepository } from '../../../services/cart/src/adapters/redis-cart-repository.ts';
import type { CartRepository } from '../../../services/cart/src/adapters/cart-repository.ts';
import type { CatalogClient } from '../../../services/cart/src/adapters/catalog-client.ts';
import { CartService } from '../../../services/cart/src/domain/cart-service.ts';
import { createApp } from '../../../services/cart/src/app.ts';
import { testKit, testRedis, type Backend } from '../../support/stores.ts';

export const PRODUCTS = [
  { id: 'lamp', name: 'Desk Lamp', image: '/images/lamp.webp', priceCents: 2499, currency: 'USD' },
  { id: 'mug', name: 'Mug', image: '/images/mug.webp', priceCents: 850, currency: 'USD' },
];

export interface CartHarness {
  readonly app: ReturnType<typeof createApp>;
  readonly carts: CartRepository;
  readonly catalog: InMemoryCatalogClient;
  close(): Promise<void>;
}

export async function cartHarness(
  backend: Backend,
  options: { catalog?: CatalogClient; maxLines?: number; bodyLimitBytes?: number } = {},
): Promise<CartHarness> {
  const kit = testKit('cart');
  const redis = backend === 'real' ? await testRedis('cart') : undefined;
  const carts: CartRepository = redis
    ? new RedisCartRepository({ client: redis.redis, ttlSeconds: 3600, keyPrefix: redis.prefix })
    : new InMemoryCartRepository({ ttlSeconds: 3600 });
  const catalog = new InMemoryCatalogClient(PRODUCTS);
  const service = new CartService({
    carts,
    catalog: options.catalog ?? catalog,
    limits: { maxQuantityPerItem: 10, maxLines: options.maxLines ?? 50 },
  });
  const app = createApp({
    ...kit,
    service,
    ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
  });
  return { app, carts, catalog, close: async () => redis?.close() };
}
