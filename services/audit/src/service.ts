import { defineService, int, openStores, storeSettings } from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/catalogue';
import type { AuditLog } from './adapters/audit-log.ts';
import { InMemoryAuditLog } from './adapters/in-memory-audit-log.ts';
import { MongoAuditLog } from './adapters/mongo-audit-log.ts';
import { startAuditConsumers } from './consumers/audit-consumer.ts';
import { AuditTrail } from './domain/audit-trail.ts';
import { auditMetrics } from './metrics.ts';

/** What a test or an embedder may put in place of what the config builds. */
export interface AuditOverrides {
  /** The log, instead of MONGO_URL's or an in-memory one of its own: replicas in one process sharing one log. */
  readonly log?: AuditLog;
}

export const definition = defineService({
  service: 'audit',
  defaultPort: catalogueEntry('audit').port,
  settings: {
    ...storeSettings('audit'),
    lingerMs: int({
      env: 'AUDIT_LINGER_MS',
      default: 50,
      min: 0,
      doc: 'how long an event waits for others: before the insert that records it goes out, and after a read of its topic before the next read (one read, one acknowledgement and one insert for many events; 0: at once)',
    }),
  },
  build: async (kit, overrides: AuditOverrides = {}) => {
    const stores = await openStores({ ...kit, service: 'audit' });
    let log: AuditLog;
    if (overrides.log) {
      log = overrides.log;
    } else if (stores.db) {
      const mongo = new MongoAuditLog(stores.db);
      await mongo.ensureIndexes();
      log = mongo;
    } else {
      log = new InMemoryAuditLog();
    }
    const trail = new AuditTrail({ log, lingerMs: kit.config.lingerMs });
    const recorded = kit.metrics.counter(auditMetrics.records);
    const subscriptions = await startAuditConsumers({
      bus: stores.bus,
      trail,
      recorded,
      logger: kit.logger,
      readLingerMs: kit.config.lingerMs,
    });
    const { createApp } = await import('./app.ts');
    const app = createApp({
      ...kit,
      log,
      trail,
      bodyLimitBytes: kit.config.bodyLimitBytes,
      slowRequestMs: kit.config.slowRequestMs,
    });
    return {
      app,
      parts: { log, trail },
      closers: [
        {
          name: 'audit-consumers',
          close: async () => {
            await Promise.all(subscriptions.map((s) => s.close()));
          },
        },
        ...stores.closers,
      ],
    };
  },
});
