import { createServiceApp, type Health, type Logger, type Metrics } from '@meshmart/kit';
import type { AuditLog } from './adapters/audit-log.ts';
import type { AuditTrail } from './domain/audit-trail.ts';
import { auditRoutes } from './routes/audit-routes.ts';

export interface AuditAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly log: AuditLog;
  readonly trail: AuditTrail;
  readonly bodyLimitBytes?: number;
  readonly slowRequestMs?: number;
}

export function createApp(deps: AuditAppDeps) {
  return createServiceApp({
    service: 'audit',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [auditRoutes(deps)],
    openapi: {
      title: 'MeshMart audit',
      version: '1.0.0',
      description: 'An append-only, hash-chained record of every domain event and user action.',
    },
    ...(deps.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.slowRequestMs !== undefined ? { slowRequestMs: deps.slowRequestMs } : {}),
  });
}
