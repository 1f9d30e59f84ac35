import { defineService, int, openStores, storeSettings } from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/catalogue';
import { OutboxRelay, type Subscription } from '@meshmart/kit/events';
import { OrderProjector } from './application/order-projector.ts';
import { ViewChanges } from './application/view-changes.ts';
import { InMemoryOrderEventStore } from './adapters/in-memory-order-event-store.ts';
import { InMemoryOrderViewRepository } from './adapters/in-memory-order-view-repository.ts';
import { MongoOrderEventStore } from './adapters/mongo-order-event-store.ts';
import { MongoOrderViewRepository } from './adapters/mongo-order-view-repository.ts';
import { ORDERS_TOPIC, type OrderEventStore } from './adapters/order-event-store.ts';
import type { OrderViewRepository } from './adapters/order-view-repository.ts';

/** What a test or an embedder may change in what the build starts. */
export interface OrdersOverrides {
  /**
   * Background work the build starts, both by default: held back, the read model lags (the projector; start it with
   * `parts.startProjector()`) or events stay in the outbox (the relay).
   */
  readonly start?: { readonly projector?: boolean; readonly relay?: boolean };
}

export const definition = defineService({
  service: 'orders',
  defaultPort: catalogueEntry('orders').port,
  settings: {
    ...storeSettings('orders'),
    outboxIntervalMs: int({
      env: 'OUTBOX_INTERVAL_MS',
      default: 1000,
      min: 10,
      doc: 'how often the outbox relay looks for order events nobody handed it (each append hands it its own at once)',
    }),
  },
  build: async (kit, overrides: OrdersOverrides = {}) => {
    const stores = await openStores({ ...kit, service: 'orders' });
    let store: OrderEventStore;
    let views: OrderViewRepository;
    if (stores.db) {
      const mongoStore = new MongoOrderEventStore(stores.db);
      const mongoViews = new MongoOrderViewRepository(stores.db);
      await Promise.all([mongoStore.ensureIndexes(), mongoViews.ensureIndexes()]);
      [store, views] = [mongoStore, mongoViews];
    } else {
      [store, views] = [new InMemoryOrderEventStore(), new InMemoryOrderViewRepository()];
    }
    const relay = new OutboxRelay({
      store: store.outbox,
      bus: stores.bus,
      topics: [ORDERS_TOPIC],
      logger: kit.logger,
      intervalMs: kit.config.outboxIntervalMs,
    });
    const changes = new ViewChanges();
    const projector = new OrderProjector({
      store,
      views,
      changes,
      logger: kit.logger,
      metrics: kit.metrics,
    });
    let subscription: Subscription | undefined;
    const startProjector = async () => {
      subscription ??= await projector.subscribe(stores.bus);
    };
    if (overrides.start?.projector !== false) await startProjector();
    if (overrides.start?.relay !== false) relay.start();
    const { createApp } = await import('./app.ts');
    const app = createApp({
      ...kit,
      store,
      views,
      projector,
      changes,
      outboxWritten: (key, entries) => relay.offer(key, entries),
    });
    return {
      app,
      parts: { store, views, projector, relay, changes, startProjector },
      closers: [
        { name: 'orders-projector', close: async () => subscription?.close() },
        { name: 'outbox-relay', close: () => relay.stop() },
        ...stores.closers,
      ],
    };
  },
});
