import { createServiceApp, type Health, type Logger, type Metrics } from '@meshmart/kit';
import type { OutboxWritten } from '@meshmart/kit/events';
import type { Express } from 'express';
import { OrderService } from './application/order-service.ts';
import type { OrderProjector } from './application/order-projector.ts';
import type { ViewChanges } from './application/view-changes.ts';
import type { OrderEventStore } from './adapters/order-event-store.ts';
import type { OrderViewRepository } from './adapters/order-view-repository.ts';
import { orderRoutes } from './routes/order-routes.ts';

export interface OrdersAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly config?: {
    readonly bodyLimitBytes?: number;
    readonly slowRequestMs?: number;
    /** Credential of POST /admin/read-model/rebuild (ADMIN_TOKEN); unset, it is refused. */
    readonly adminToken?: string | undefined;
  };
  readonly store: OrderEventStore;
  readonly views: OrderViewRepository;
  readonly projector: OrderProjector;
  /** Called after each append (nudges the outbox relay). */
  readonly onAppended?: () => void;
  /** Told of each event document stored (the outbox relay publishes it at once). */
  readonly outboxWritten?: OutboxWritten;
  /** Shared with the projector: readers that asked to wait (`Prefer: wait`) learn of new states here. */
  readonly changes?: ViewChanges;
}

export function createApp(deps: OrdersAppDeps): Express {
  const service = new OrderService({
    store: deps.store,
    views: deps.views,
    metrics: deps.metrics,
    ...(deps.onAppended ? { onAppended: deps.onAppended } : {}),
    ...(deps.changes ? { changes: deps.changes } : {}),
    ...(deps.outboxWritten ? { outboxWritten: deps.outboxWritten } : {}),
  });
  return createServiceApp({
    service: 'orders',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [orderRoutes(service, deps.projector)],
    openapi: {
      title: 'MeshMart orders',
      version: '1.0.0',
      description: 'Event-sourced orders: commands append events, queries read the projected read model',
    },
    ...(deps.config?.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.config.bodyLimitBytes } : {}),
    ...(deps.config?.slowRequestMs !== undefined ? { slowRequestMs: deps.config.slowRequestMs } : {}),
    adminToken: deps.config?.adminToken,
  });
}
