import { createServiceApp, type Health, type Logger, type Metrics } from '@meshmart/kit';
import type { Express } from 'express';
import type { SagaRepository } from './adapters/saga-repository.ts';
import type { CheckoutContext } from './domain/checkout-saga.ts';
import type { CheckoutService } from './domain/checkout-service.ts';
import { checkoutRouter } from './routes/checkout-routes.ts';

export interface CheckoutAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly checkout: CheckoutService;
  readonly repository: SagaRepository<CheckoutContext>;
  readonly bodyLimitBytes?: number;
  readonly slowRequestMs?: number;
}

export function createApp(deps: CheckoutAppDeps): Express {
  return createServiceApp({
    service: 'checkout',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [checkoutRouter(deps)],
    openapi: {
      title: 'MeshMart checkout',
      version: '1.0.0',
      description: 'The checkout saga orchestrator: starts checkouts and shows the saga log.',
    },
    ...(deps.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.slowRequestMs !== undefined ? { slowRequestMs: deps.slowRequestMs } : {}),
  });
}
