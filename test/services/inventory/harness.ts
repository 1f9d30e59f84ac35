import type { RequestListener } from 'node:http';
import { buildService } from '@meshmart/kit';
import { InMemoryEventBus, type EventEnvelope } from '@meshmart/kit/events';
import { definition, type InventoryParts } from '../../../services/inventory/src/service.ts';
import { storesEnv } from '../../support/service-env.ts';
import { testKit, type Backend } from '../../support/stores.ts';
import { TEST_ADMIN_TOKEN } from '../../support/admin.ts';

export interface InventoryHarness {
  readonly parts: InventoryParts;
  readonly app: RequestListener;
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

/**
 * The inventory built by its definition (service.ts), unseeded, on the twins or on a fresh FerretDB database, its bus
 * the host's: an in-process bus that records what it gets.
 */
export async function inventoryHarness(
  backend: Backend,
  options: HarnessOptions = {},
): Promise<InventoryHarness> {
  const kit = testKit('inventory');
  const stores = await storesEnv(backend, 'inventory', { redis: false });
  const bus = new InMemoryEventBus({ source: 'inventory' });
  const published: EventEnvelope[] = [];
  const sub = await bus.subscribe({
    topic: 'inventory.events',
    group: 'test',
    handler: (e) => {
      published.push(e);
    },
  });
  const setting = (env: string, value: number | undefined) =>
    value === undefined ? {} : { [env]: String(value) };
  const inventory = await buildService(definition, {
    env: {
      ...stores.env,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      INVENTORY_SEED: 'false',
      ...setting('RESERVATION_TTL_SECONDS', options.defaultTtlSeconds),
      ...setting('RESERVATION_PENDING_TIMEOUT_MS', options.pendingTimeoutMs),
      ...setting('RESERVATION_SWEEP_MS', options.sweepMs),
      ...setting('BODY_LIMIT_BYTES', options.bodyLimitBytes),
    },
    host: { bus },
    overrides: {
      ...(options.now ? { now: options.now } : {}),
      start: { relay: options.relay ?? true, sweeper: options.sweeper ?? false },
    },
    logger: kit.logger,
  });
  return {
    parts: inventory.parts,
    app: inventory.app,
    published,
    logs: kit.logs,
    async close() {
      await inventory.close();
      await sub.close();
      await bus.close();
      await stores.close();
    },
  };
}
