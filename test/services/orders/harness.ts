import { OutboxRelay, type EventBus, type Subscription } from '@meshmart/kit/events';
import type { Express } from 'express';
import { createApp } from '../../../services/orders/src/app.ts';
import { OrderProjector } from '../../../services/orders/src/application/order-projector.ts';
import { ViewChanges } from '../../../services/orders/src/application/view-changes.ts';
import { InMemoryOrderEventStore } from '../../../services/orders/src/adapters/in-memory-order-event-store.ts';
import { InMemoryOrderViewRepository } from '../../../services/orders/src/adapters/in-memory-order-view-repository.ts';
import { MongoOrderEventStore } from '../../../services/orders/src/adapters/mongo-order-event-store.ts';
import { MongoOrderViewRepository } from '../../../services/orders/src/adapters/mongo-order-view-repository.ts';
import {
  ORDERS_TOPIC,
  type OrderEventStore,
} from '../../../services/orders/src/adapters/order-event-store.ts';
import type { OrderViewRepository } from '../../../services/orders/src/adapters/order-view-repository.ts';
import {
  testBus,
  testKit,
  testMongo,
  testRedis,
  type Backend,
  type TestMongo,
  type TestRedis,
  eventually,
} from '../../support/stores.ts';
import { TEST_ADMIN_TOKEN } from '../../support/admin.ts';

export interface Stores {
  readonly store: OrderEventStore;
  readonly views: OrderViewRepository;
  readonly mongo?: TestMongo;
  close(): Promise<void>;
}

/** The event store and read model of one backend, each test its own database. */
export async function openTestStores(backend: Backend): Promise<Stores> {
  if (backend === 'memory') {
    return {
      store: new InMemoryOrderEventStore(),
      views: new InMemoryOrderViewRepository(),
      close: () => Promise.resolve(),
    };
  }
  const mongo = await testMongo('orders');
  const store = new MongoOrderEventStore(mongo.db);
  const views = new MongoOrderViewRepository(mongo.db);
  await Promise.all([store.ensureIndexes(), views.ensureIndexes()]);
  return { store, views, mongo, close: () => mongo.close() };
}

export interface Harness extends Stores {
  readonly app: Express;
  readonly bus: EventBus;
  readonly projector: OrderProjector;
  readonly relay: OutboxRelay;
  /** Where readers waiting with `Prefer: wait` are parked. */
  readonly changes: ViewChanges;
  /** Starts the projector's subscription (not started by default when `project: false`). */
  startProjector(): Promise<void>;
}

/** The whole service of one backend: stores, bus (from testBus), outbox relay, projector and app. */
export async function openHarness(
  backend: Backend,
  options: { project?: boolean; relay?: boolean; bodyLimitBytes?: number } = {},
): Promise<Harness> {
  const stores = await openTestStores(backend);
  let redis: TestRedis | undefined;
  if (backend === 'real') redis = await testRedis('orders');
  const bus = testBus(backend, 'orders', redis);
  const kit = testKit('orders');
  const relay = new OutboxRelay({ store: stores.store.outbox, bus, topics: [ORDERS_TOPIC], intervalMs: 50 });
  const changes = new ViewChanges();
  const projector = new OrderProjector({
    store: stores.store,
    views: stores.views,
    changes,
  });
  let subscription: Subscription | undefined;
  const startProjector = async () => {
    subscription ??= await projector.subscribe(bus, { retryDelayMs: 50 });
  };
  if (options.project !== false) await startProjector();
  if (options.relay !== false) relay.start();
  const app = createApp({
    ...kit,
    config: {
      adminToken: TEST_ADMIN_TOKEN,
      ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    },
    store: stores.store,
    views: stores.views,
    projector,
    changes,
    onAppended: () => relay.nudge(),
  });
  return {
    ...stores,
    app,
    bus,
    projector,
    relay,
    changes,
    startProjector,
    async close() {
      await subscription?.close();
      await relay.stop();
      await bus.close();
      await redis?.close();
      await stores.close();
    },
  };
}

/** `eventually` with room for a loaded machine (other suites share the CPU and the test servers). */
export function settled(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return eventually(check, what, 15_000);
}
