import { createServiceApp, type Health, type Logger, type Metrics } from '@meshmart/kit';
import type { InventoryService } from './domain/inventory-service.ts';
import { reservationRoutes } from './routes/reservation-routes.ts';
import { stockRoutes } from './routes/stock-routes.ts';

export interface InventoryAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly service: InventoryService;
  readonly bodyLimitBytes?: number;
  readonly slowRequestMs?: number;
  /** Credential of PUT /admin/stock (ADMIN_TOKEN); unset, stock changes are refused. */
  readonly adminToken?: string | undefined;
}

export function createApp(deps: InventoryAppDeps) {
  return createServiceApp({
    service: 'inventory',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [stockRoutes(deps.service), reservationRoutes(deps.service)],
    openapi: {
      title: 'MeshMart inventory',
      version: '1.0.0',
      description:
        'Stock per product and reservations (reserve, commit, release, expiry); stock never negative',
    },
    ...(deps.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.slowRequestMs !== undefined ? { slowRequestMs: deps.slowRequestMs } : {}),
    adminToken: deps.adminToken,
  });
}
