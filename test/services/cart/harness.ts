import type { RequestListener } from 'node:http';
import { buildService } from '@meshmart/kit';
import { InMemoryCatalogClient } from '../../../services/cart/src/adapters/in-memory-catalog-client.ts';
import type { CartRepository } from '../../../services/cart/src/adapters/cart-repository.ts';
import type { CatalogClient } from '../../../services/cart/src/adapters/catalog-client.ts';
import { definition } from '../../../services/cart/src/service.ts';
import { storesEnv } from '../../support/service-env.ts';
import { testKit, type Backend } from '../../support/stores.ts';

export const PRODUCTS = [
  { id: 'lamp', name: 'Desk Lamp', image: '/images/lamp.webp', priceCents: 2499, currency: 'USD' },
  { id: 'mug', name: 'Mug', image: '/images/mug.webp', priceCents: 850, currency: 'USD' },
];

export interface CartHarness {
  readonly app: RequestListener;
  readonly carts: CartRepository;
  readonly catalog: InMemoryCatalogClient;
  close(): Promise<void>;
}

/** The cart built by its definition (service.ts), on the twins or on Redis, with an in-memory catalog by default. */
export async function cartHarness(
  backend: Backend,
  options: { catalog?: CatalogClient; maxLines?: number; bodyLimitBytes?: number } = {},
): Promise<CartHarness> {
  const stores = await storesEnv(backend, 'cart', { mongo: false });
  const catalog = new InMemoryCatalogClient(PRODUCTS);
  const cart = await buildService(definition, {
    env: {
      ...stores.env,
      CART_TTL_SECONDS: '3600',
      MAX_QUANTITY_PER_ITEM: '10',
      ...(options.maxLines !== undefined ? { CART_MAX_LINES: String(options.maxLines) } : {}),
      ...(options.bodyLimitBytes !== undefined ? { BODY_LIMIT_BYTES: String(options.bodyLimitBytes) } : {}),
    },
    overrides: { catalog: options.catalog ?? catalog },
    logger: testKit('cart').logger,
  });
  return {
    app: cart.app,
    carts: cart.parts.carts,
    catalog,
    async close() {
      await cart.close();
      await stores.close();
    },
  };
}
