import { InMemoryEventBus, type EventEnvelope } from '@meshmart/kit/events';
import { inventoryParts, type InventoryParts } from '../../../services/inventory/src/service.ts';
import { createApp } from '../../../services/inventory/src/app.ts';
import { testKit, testMongo, type Backend, type TestMongo } from '../../support/stores.ts';
import { TEST_ADMIN_TOKEN } from '../../support/admin.ts';

export interface InventoryHarness {
  readonly parts: InventoryParts;
  readonly app: ReturnType<typeof createApp>;
  /** Events published so far (the relay is running). */
  readonly published: EventEnvelope[];
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly defaultTtlSeconds?: number;
  readonly pendingTimeoutMs?: number;
  readonly sweepMs?: number;
  readonly bodyLimitBytes?: number;
  readonly now?: () => Date;
  /** Start the relay (default true) and the sweeper (default false). */
  readonly relay?: boolean;
  readonly sweeper?: boolean;
}

/** The inventory on the twins or on a fresh FerretDB database, with an in-process bus that records what it gets. */
export async function inventoryHarness(
  backend: Backend,
  options: HarnessOptions = {},
): Promise<InventoryHarness> {
  const kit = testKit('inventory');
  let mongo: TestMongo | undefined;
  if (backend === 'real') mongo = await testMongo('inventory');
  const bus = new InMemoryEventBus({ source: 'inventory' });
  const published: EventEnvelope[] = [];
  const sub = await bus.subscribe({
    topic: 'inventory.events',
    group: 'test',
    handler: (e) => {
      published.push(e);
    },
  });
  const parts = await inventoryParts({
    ...(mongo ? { db: mongo.db } : {}),
    bus,
    logger: kit.logger,
    metrics: kit.metrics,
    defaultTtlSeconds: options.defaultTtlSeconds ?? 900,
    ...(options.pendingTimeoutMs !== undefined ? { pendingTimeoutMs: options.pendingTimeoutMs } : {}),
    ...(options.sweepMs !== undefined ? { sweepMs: options.sweepMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  if (options.relay ?? true) for (const relay of parts.relays) relay.start();
  if (options.sweeper) parts.sweeper.start();
  const app = createApp({
    logger: kit.logger,
    metrics: kit.metrics,
    health: kit.health,
    service: parts.service,
    adminToken: TEST_ADMIN_TOKEN,
    ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
  });
  return {
    parts,
    app,
    published,
    logs: kit.logs,
    async close() {
      await parts.sweeper.stop();
      for (const relay of parts.relays) await relay.stop();
      await sub.close();
      await bus.close();
      await mongo?.close();
    },
  };
}
