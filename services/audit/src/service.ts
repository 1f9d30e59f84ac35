import { defineService, int, openStores, service, storeSettings } from '@meshmart/kit';
import {
  InMemoryProcessedStore,
  MongoProcessedStore,
  type ProcessedDocument,
  type ProcessedStore,
} from '@meshmart/kit/events';
import type { AuditLog } from './adapters/audit-log.ts';
import { InMemoryAuditLog } from './adapters/in-memory-audit-log.ts';
import { MongoAuditLog } from './adapters/mongo-audit-log.ts';
import { startAuditConsumers } from './consumers/audit-consumer.ts';
import { AuditTrail } from './domain/audit-trail.ts';

export const definition = defineService({
  service: 'audit',
  defaultPort: service('audit').port,
  settings: {
    ...storeSettings('audit'),
    processedPurgeMs: int({
      env: 'PROCESSED_PURGE_MS',
      default: 3_600_000,
      min: 1000,
      doc: 'how often expired processed-event records are purged where the store has no TTL index (FerretDB)',
    }),
  },
  build: async (kit) => {
    const stores = await openStores({ ...kit, service: 'audit' });
    let log: AuditLog;
    let processed: ProcessedStore;
    let sweeper: NodeJS.Timeout | undefined;
    if (stores.db) {
      const mongo = new MongoAuditLog(stores.db);
      await mongo.ensureIndexes();
      log = mongo;
      const store = new MongoProcessedStore({
        collection: stores.db.collection<ProcessedDocument>('processed'),
      });
      if (!(await store.ensureIndexes())) {
        sweeper = setInterval(() => {
          store
            .purgeExpired()
            .catch((err: unknown) => kit.logger.warn({ err }, 'purging processed events failed'));
        }, kit.config.processedPurgeMs);
        sweeper.unref();
      }
      processed = store;
    } else {
      log = new InMemoryAuditLog();
      processed = new InMemoryProcessedStore();
    }
    const trail = new AuditTrail({ log });
    const recorded = kit.metrics.counter({
      name: 'audit_records_total',
      help: 'Events the audit trail received, by topic and outcome (appended or duplicate)',
      labelNames: ['topic', 'outcome'] as const,
    });
    const subscriptions = await startAuditConsumers({
      bus: stores.bus,
      trail,
      processed,
      recorded,
      logger: kit.logger,
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
      closers: [
        {
          name: 'audit-consumers',
          close: async () => {
            clearInterval(sweeper);
            await Promise.all(subscriptions.map((s) => s.close()));
          },
        },
        ...stores.closers,
      ],
    };
  },
});
