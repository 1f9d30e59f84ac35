import { fileURLToPath } from 'node:url';
import type { Db } from 'mongodb';
import {
  bool,
  defineService,
  int,
  openStores,
  storeSettings,
  str,
  type Closer,
  type Logger,
  type Metrics,
} from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/catalogue';
import { InMemoryOutboxStore, MongoOutboxStore, OutboxRelay, type EventBus } from '@meshmart/kit/events';
import {
  InMemoryReservationRepository,
  RESERVATIONS_COLLECTION,
} from './adapters/in-memory-reservation-repository.ts';
import { InMemoryStockRepository, STOCK_COLLECTION } from './adapters/in-memory-stock-repository.ts';
import { MongoReservationRepository } from './adapters/mongo-reservation-repository.ts';
import { MongoStockRepository } from './adapters/mongo-stock-repository.ts';
import type { ReservationRepository } from './adapters/reservation-repository.ts';
import { productIdsFromFile } from './adapters/seed-file.ts';
import type { StockRepository } from './adapters/stock-repository.ts';
import { TOPIC } from './domain/inventory-events.ts';
import { InventoryService } from './domain/inventory-service.ts';
import { ReservationSweeper } from './domain/reservation-sweeper.ts';

export const settings = {
  ...storeSettings('inventory'),
  reservationTtlSeconds: int({
    env: 'RESERVATION_TTL_SECONDS',
    default: 900,
    min: 1,
    max: 86_400,
    doc: 'lifetime of a reservation when the request names none',
  }),
  reservationSweepMs: int({
    env: 'RESERVATION_SWEEP_MS',
    default: 1000,
    min: 10,
    doc: 'period of the sweeper that expires reservations and repairs interrupted ones',
  }),
  reservationPendingTimeoutMs: int({
    env: 'RESERVATION_PENDING_TIMEOUT_MS',
    default: 5000,
    min: 100,
    doc: 'a reservation still PENDING after this is presumed abandoned and rolled back',
  }),
  seed: bool({ env: 'INVENTORY_SEED', default: true, doc: 'create stock for the catalog products at start' }),
  seedUnits: int({
    env: 'INVENTORY_SEED_UNITS',
    default: 100,
    min: 0,
    max: 1_000_000_000,
    doc: 'units available of each seeded product',
  }),
  seedFile: str({
    env: 'INVENTORY_SEED_FILE',
    default: fileURLToPath(new URL('../../catalog/src/data/products.json', import.meta.url)),
    doc: 'catalog data file whose product ids are seeded (absent file: nothing is seeded)',
  }),
};

export interface InventoryPartsOptions {
  /** Mongo adapters when set, else the in-memory twins. */
  readonly db?: Db;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly defaultTtlSeconds: number;
  readonly pendingTimeoutMs?: number;
  readonly sweepMs?: number;
  readonly now?: () => Date;
}

export interface InventoryParts {
  readonly service: InventoryService;
  readonly stock: StockRepository;
  readonly reservations: ReservationRepository;
  /**
   * On Mongo one relay per collection, each nudged only by writes to its own: a nudged pass then costs one query, not
   * one per collection. In memory one relay over the one outbox.
   */
  readonly relays: readonly OutboxRelay[];
  readonly sweeper: ReservationSweeper;
}

/** The adapters, domain service, relays and sweeper (not started), on Mongo or on the twins. */
export async function inventoryParts(options: InventoryPartsOptions): Promise<InventoryParts> {
  let stock: StockRepository;
  let reservations: ReservationRepository;
  let relays: { stock: OutboxRelay; reservation: OutboxRelay };
  const { logger, bus, db } = options;
  if (db) {
    const mongoStock = new MongoStockRepository(db);
    const mongoReservations = new MongoReservationRepository(db);
    await mongoStock.ensureIndexes();
    await mongoReservations.ensureIndexes();
    stock = mongoStock;
    reservations = mongoReservations;
    const relayOf = (name: string) =>
      new OutboxRelay({ store: new MongoOutboxStore(db.collection(name)), bus, topics: [TOPIC], logger });
    relays = {
      stock: relayOf(mongoStock.collection.collectionName),
      reservation: relayOf(mongoReservations.collection.collectionName),
    };
  } else {
    const outbox = new InMemoryOutboxStore();
    stock = new InMemoryStockRepository(outbox);
    reservations = new InMemoryReservationRepository(outbox);
    const relay = new OutboxRelay({ store: outbox, bus, topics: [TOPIC], logger });
    relays = { stock: relay, reservation: relay };
  }
  const service = new InventoryService({
    stock,
    reservations,
    logger,
    defaultTtlSeconds: options.defaultTtlSeconds,
    // Each write's events go to that collection's relay at once; it reads the collection only for what nobody handed it.
    onWrite: (written, id, events) =>
      relays[written].offer(
        { collection: written === 'stock' ? STOCK_COLLECTION : RESERVATIONS_COLLECTION, id },
        events,
      ),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.pendingTimeoutMs !== undefined ? { pendingTimeoutMs: options.pendingTimeoutMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const sweeper = new ReservationSweeper({
    service,
    reservations,
    logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.sweepMs !== undefined ? { intervalMs: options.sweepMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { service, stock, reservations, relays: [...new Set(Object.values(relays))], sweeper };
}

/** What a test or an embedder may put in place of what the config builds, or hold back of what it starts. */
export interface InventoryOverrides {
  /** The clock of reservations and of the sweeper. @default the system clock */
  readonly now?: () => Date;
  /** Background work the build starts, both by default: held back, events stay in the outbox or nothing expires. */
  readonly start?: { readonly relay?: boolean; readonly sweeper?: boolean };
}

export const definition = defineService({
  service: 'inventory',
  defaultPort: catalogueEntry('inventory').port,
  settings,
  build: async (kit, overrides: InventoryOverrides = {}) => {
    const { config, logger } = kit;
    const stores = await openStores({ ...kit, service: 'inventory' });
    const parts = await inventoryParts({
      ...(stores.db ? { db: stores.db } : {}),
      bus: stores.bus,
      logger,
      metrics: kit.metrics,
      defaultTtlSeconds: config.reservationTtlSeconds,
      pendingTimeoutMs: config.reservationPendingTimeoutMs,
      sweepMs: config.reservationSweepMs,
      ...(overrides.now ? { now: overrides.now } : {}),
    });
    if (config.seed) {
      const ids = await productIdsFromFile(config.seedFile);
      const created = await parts.service.seed(ids, config.seedUnits);
      logger.info({ products: ids.length, created, file: config.seedFile }, 'stock seeded');
    }
    if (overrides.start?.relay !== false) for (const relay of parts.relays) relay.start();
    if (overrides.start?.sweeper !== false) parts.sweeper.start();
    const { createApp } = await import('./app.ts');
    const closers: Closer[] = [
      { name: 'reservation-sweeper', close: () => parts.sweeper.stop() },
      {
        name: 'outbox-relay',
        close: async () => {
          await Promise.all(parts.relays.map((r) => r.stop()));
        },
      },
      ...stores.closers,
    ];
    return {
      app: createApp({
        logger,
        metrics: kit.metrics,
        health: kit.health,
        service: parts.service,
        bodyLimitBytes: config.bodyLimitBytes,
        slowRequestMs: config.slowRequestMs,
        adminToken: config.adminToken,
      }),
      closers,
      parts,
    };
  },
});
