import { defineService, int, openStores, storeSettings, type Closer } from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/kit/catalogue';
import {
  InMemoryProcessedStore,
  MongoProcessedStore,
  OutboxRelay,
  type ProcessedDocument,
  type ProcessedStore,
} from '@meshmart/kit/events';
import { OrderProjector } from './application/order-projector.ts';
import { InMemoryOrderEventStore } from './adapters/in-memory-order-event-store.ts';
import { InMemoryOrderViewRepository } from './adapters/in-memory-order-view-repository.ts';
import { MongoOrderEventStore } from './adapters/mongo-order-event-store.ts';
import { MongoOrderViewRepository } from './adapters/mongo-order-view-repository.ts';
import type { OrderEventStore } from './adapters/order-event-store.ts';
import type { OrderViewRepository } from './adapters/order-view-repository.ts';

export const definition = defineService({
  service: 'orders',
  defaultPort: catalogueEntry('orders').port,
  settings: {
    ...storeSettings('orders'),
    outboxIntervalMs: int({
      env: 'OUTBOX_INTERVAL_MS',
      default: 1000,
      min: 10,
      doc: 'how often the outbox relay looks for unpublished order events (it is also nudged after each append)',
    }),
    processedPurgeIntervalMs: int({
      env: 'PROCESSED_PURGE_INTERVAL_MS',
      default: 3_600_000,
      min: 1000,
      doc: 'how often expired processed-event records are deleted where TTL indexes are missing (FerretDB)',
    }),
  },
  build: async (kit) => {
    const stores = await openStores({ ...kit, service: 'orders' });
    const closers: Closer[] = [];
    let store: OrderEventStore;
    let views: OrderViewRepository;
    let processed: ProcessedStore;
    if (stores.db) {
      const mongoStore = new MongoOrderEventStore(stores.db);
      const mongoViews = new MongoOrderViewRepository(stores.db);
      const mongoProcessed = new MongoProcessedStore({
        collection: stores.db.collection<ProcessedDocument>('processed_events'),
      });
      await Promise.all([mongoStore.ensureIndexes(), mongoViews.ensureIndexes()]);
      if (!(await mongoProcessed.ensureIndexes())) {
        // No TTL index on this server: expire processed records in code.
        const timer = setInterval(() => {
          mongoProcessed
            .purgeExpired()
            .catch((err: unknown) => kit.logger.warn({ err }, 'purging processed events failed'));
        }, kit.config.processedPurgeIntervalMs);
        timer.unref();
        closers.push({ name: 'processed-purge', close: () => Promise.resolve(clearInterval(timer)) });
      }
      [store, views, processed] = [mongoStore, mongoViews, mongoProcessed];
    } else {
      [store, views, processed] = [
        new InMemoryOrderEventStore(),
        new InMemoryOrderViewRepository(),
        new InMemoryProcessedStore(),
      ];
    }
    const relay = new OutboxRelay({
      store: store.outbox,
      bus: stores.bus,
      logger: kit.logger,
      intervalMs: kit.config.outboxIntervalMs,
    });
    const projector = new OrderProjector({
      store,
      views,
      processed,
      logger: kit.logger,
      metrics: kit.metrics,
    });
    const subscription = await projector.subscribe(stores.bus);
    relay.start();
    const { createApp } = await import('./app.ts');
    const app = createApp({ ...kit, store, views, projector, onAppended: () => relay.nudge() });
    return {
      app,
      closers: [
        { name: 'orders-projector', close: () => subscription.close() },
        { name: 'outbox-relay', close: () => relay.stop() },
        ...closers,
        ...stores.closers,
      ],
    };
  },
});
