import type { RequestListener } from 'node:http';
import { buildService } from '@meshmart/kit';
import type { EventBus, OutboxRelay } from '@meshmart/kit/events';
import type { OrderProjector } from '../../../services/orders/src/application/order-projector.ts';
import type { ViewChanges } from '../../../services/orders/src/application/view-changes.ts';
import { InMemoryOrderEventStore } from '../../../services/orders/src/adapters/in-memory-order-event-store.ts';
import { InMemoryOrderViewRepository } from '../../../services/orders/src/adapters/in-memory-order-view-repository.ts';
import { MongoOrderEventStore } from '../../../services/orders/src/adapters/mongo-order-event-store.ts';
import { MongoOrderViewRepository } from '../../../services/orders/src/adapters/mongo-order-view-repository.ts';
import type { OrderEventStore } from '../../../services/orders/src/adapters/order-event-store.ts';
import type { OrderViewRepository } from '../../../services/orders/src/adapters/order-view-repository.ts';
import { definition } from '../../../services/orders/src/service.ts';
import { storesEnv } from '../../support/service-env.ts';
import {
  testBus,
  testKit,
  testMongo,
  type Backend,
  type TestMongo,
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
  readonly app: RequestListener;
  readonly bus: EventBus;
  readonly projector: OrderProjector;
  readonly relay: OutboxRelay;
  /** Where readers waiting with `Prefer: wait` are parked. */
  readonly changes: ViewChanges;
  /** Starts the projector's subscription (not started by default when `project: false`). */
  startProjector(): Promise<void>;
}

/**
 * The orders service built by its definition (service.ts) on one backend, its bus the host's (the harness's `bus`,
 * from testBus); `project: false` and `relay: false` hold its projector or its outbox relay back.
 */
export async function openHarness(
  backend: Backend,
  options: { project?: boolean; relay?: boolean; bodyLimitBytes?: number } = {},
): Promise<Harness> {
  const stores = await storesEnv(backend, 'orders');
  const bus = testBus(backend, 'orders', stores.redis);
  const orders = await buildService(definition, {
    env: {
      ...stores.env,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      OUTBOX_INTERVAL_MS: '50',
      ...(options.bodyLimitBytes ? { BODY_LIMIT_BYTES: String(options.bodyLimitBytes) } : {}),
    },
    host: { bus },
    overrides: { start: { projector: options.project !== false, relay: options.relay !== false } },
    logger: testKit('orders').logger,
  });
  const { store, views, projector, relay, changes, startProjector } = orders.parts;
  return {
    store,
    views,
    ...(stores.mongo ? { mongo: stores.mongo } : {}),
    app: orders.app,
    bus,
    projector,
    relay,
    changes,
    startProjector,
    async close() {
      await orders.close();
      await bus.close();
      await stores.close();
    },
  };
}

/** `eventually` with room for a loaded machine (other suites share the CPU and the test servers). */
export function settled(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return eventually(check, what, 15_000);
}
