import { createServiceApp, type Health, type Logger, type Metrics } from '@meshmart/kit';
import type { CartService } from './domain/cart-service.ts';
import { cartRoutes } from './routes/cart-routes.ts';

export interface CartAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly service: CartService;
  readonly bodyLimitBytes?: number;
  readonly slowRequestMs?: number;
}

export function createApp(deps: CartAppDeps) {
  return createServiceApp({
    service: 'cart',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [cartRoutes(deps.service)],
    openapi: {
      title: 'MeshMart cart',
      version: '1.0.0',
      description: 'One cart per user, priced from the catalog, kept in Redis with a TTL',
    },
    ...(deps.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.slowRequestMs !== undefined ? { slowRequestMs: deps.slowRequestMs } : {}),
  });
}
