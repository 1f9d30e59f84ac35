import {
  createServiceApp,
  type Health,
  type Logger,
  type Metrics,
  type ServiceAppOptions,
} from '@meshmart/kit';
import type { Chaos } from './adapters/chaos-payment-provider.ts';
import type { Idempotency } from './domain/idempotency.ts';
import type { PaymentService } from './domain/payment-service.ts';
import { chaosRoutes } from './routes/chaos-routes.ts';
import { paymentRoutes } from './routes/payment-routes.ts';

export interface PaymentsAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly payments: PaymentService;
  readonly idempotency: Idempotency;
  readonly chaos: Chaos;
  readonly bodyLimitBytes?: number;
  readonly slowRequestMs?: number;
}

/** A POST without any body means `{}`: capture and refund default to the whole amount. */
const emptyBodyIsEmptyObject: NonNullable<ServiceAppOptions['middleware']>[number] = (req, _res, next) => {
  const length = req.headers['content-length'];
  const empty = (length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined;
  if (req.method === 'POST' && empty && req.body === undefined) req.body = {};
  next();
};

export function createApp(deps: PaymentsAppDeps) {
  return createServiceApp({
    middleware: [emptyBodyIsEmptyObject],
    service: 'payments',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [paymentRoutes(deps), chaosRoutes(deps.chaos)],
    openapi: {
      title: 'MeshMart payments',
      version: '1.0.0',
      description:
        'Authorize, capture, void and refund with Idempotency-Key; a simulated provider with run-time chaos.',
    },
    ...(deps.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.slowRequestMs !== undefined ? { slowRequestMs: deps.slowRequestMs } : {}),
  });
}
