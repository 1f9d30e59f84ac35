import { createServiceApp, type Health, type Logger, type Metrics } from '@meshmart/kit';
import type { Catalog } from './domain/catalog.ts';
import { imageRoutes } from './routes/image-routes.ts';
import { productRoutes } from './routes/product-routes.ts';

export interface CatalogAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly catalog: Catalog;
  /** Where the product pictures are (assets/images). */
  readonly imagesDir: string;
  readonly bodyLimitBytes?: number;
  readonly slowRequestMs?: number;
  /** Credential of PUT /admin/products (ADMIN_TOKEN); unset, admin changes are refused. */
  readonly adminToken?: string | undefined;
}

export function createApp(deps: CatalogAppDeps) {
  return createServiceApp({
    service: 'catalog',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [productRoutes(deps.catalog), imageRoutes(deps.imagesDir)],
    openapi: {
      title: 'MeshMart catalog',
      version: '1.0.0',
      description: 'Products: browse, search, paginate; cache-aside in Redis; admin updates',
    },
    ...(deps.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.slowRequestMs !== undefined ? { slowRequestMs: deps.slowRequestMs } : {}),
    adminToken: deps.adminToken,
  });
}
