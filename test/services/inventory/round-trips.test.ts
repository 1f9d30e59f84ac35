import { expect } from 'chai';
import type { Counter } from 'prom-client';
import { MongoClient } from 'mongodb';
import { connectMongo, type MongoConnection } from '@meshmart/kit/mongo';
import { InMemoryEventBus, type EventEnvelope } from '@meshmart/kit/events';
import { ReservationSweeper } from '../../../services/inventory/src/domain/reservation-sweeper.ts';
import { inventoryParts, type InventoryParts } from '../../../services/inventory/src/service.ts';
import { testenv } from '../../support/testenv.ts';
import { eventually, testKit, uniqueName } from '../../support/stores.ts';

type Counts = Record<string, number>;

/**
 * What reservations cost in MongoDB round trips, counted by the driver as the service's mongodb_commands_total is
 * (`<command> <collection>`). The service's own commands are exact; the relays' are counted while they run as in
 * the service (nudged after each write).
 */
describe('inventory round trips (FerretDB)', function () {
  let mongo: MongoConnection;
  /** Not counted: the test's own reads. */
  let uncounted: MongoClient;
  let parts: InventoryParts;
  let bus: InMemoryEventBus;
  let now: Date;
  const published: EventEnvelope[] = [];
  let counts: () => Promise<Counts>;

  beforeEach(async function () {
    const kit = testKit('inventory');
    mongo = await connectMongo(testenv('MONGO_URL'), {
      logger: kit.logger,
      appName: 'inventory-round-trips',
      dbName: uniqueName('test_inventory_rt'),
      registry: kit.metrics.registry,
    });
    uncounted = await new MongoClient(testenv('MONGO_URL')).connect();
    bus = new InMemoryEventBus({ source: 'inventory' });
    published.length = 0;
    await bus.subscribe({ topic: 'inventory.events', group: 'test', handler: (e) => void published.push(e) });
    now = new Date();
    parts = await inventoryParts({
      db: mongo.db,
      bus,
      logger: kit.logger,
      defaultTtlSeconds: 900,
      now: () => now,
    });
    await parts.service.setStock('lamp', 1000);
    counts = async () => {
      const metric = kit.metrics.registry.getSingleMetric('mongodb_commands_total') as Counter;
      const out: Counts = {};
      for (const v of (await metric.get()).values) {
        out[`${String(v.labels.command)} ${String(v.labels.collection)}`] = v.value;
      }
      return out;
    };
  });
  afterEach(async function () {
    for (const relay of parts.relays) await relay.stop();
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.client.close();
    await uncounted.close();
    await bus.close();
  });

  /** Commands `work` sends, divided by `n`. */
  async function per(n: number, work: () => Promise<void>): Promise<Counts> {
    const before = await counts();
    await work();
    const after = await counts();
    const out: Counts = {};
    for (const [key, value] of Object.entries(after)) {
      const d = (value - (before[key] ?? 0)) / n;
      if (d > 0) out[key] = Math.round(d * 100) / 100;
    }
    return out;
  }
  const sum = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);
  const report = (what: string, c: Counts) =>
    process.stdout.write(`      ${what}: ${sum(c).toFixed(2)} ${JSON.stringify(c)}\n`);
  const reserve = (id: string) =>
    parts.service.reserve({
      reservationId: id,
      orderId: `o-${id}`,
      items: [{ productId: 'lamp', quantity: 1 }],
    });
  const delivered = (type: string, id: string) =>
    eventually(
      () =>
        published.some((e) => e.type === type && (e.data as { reservationId: string }).reservationId === id),
      `${type} of ${id}`,
    );

  it('when one-line reservations are reserved and committed, then each costs 5 commands', async function () {
    const own = await per(10, async () => {
      for (let i = 0; i < 10; i++) {
        await reserve(`r-${i}`);
        await parts.service.commit(`r-${i}`);
      }
    });
    report('reserve + commit', own);
    expect(own).to.deep.equal({
      'insert reservations': 1,
      'update stock': 2,
      'findAndModify reservations': 2,
    });
  });

  it('when one-line reservations are reserved and released, or refused, then each costs 5 or 4 commands', async function () {
    const released = await per(10, async () => {
      for (let i = 0; i < 10; i++) {
        await reserve(`r-${i}`);
        await parts.service.release(`r-${i}`);
      }
    });
    report('reserve + release', released);
    expect(sum(released)).to.equal(5);
    await parts.service.setStock('lamp', 0);
    const refused = await per(10, async () => {
      for (let i = 0; i < 10; i++) await reserve(`no-${i}`).catch(() => undefined);
    });
    report('reserve refused (out of stock)', refused);
    expect(sum(refused)).to.equal(4);
  });

  it('when reservations expire, then a sweep costs 2 commands per reservation beside its 3 queries', async function () {
    for (let i = 0; i < 10; i++) await reserve(`r-${i}`);
    const sweeper = new ReservationSweeper({
      service: parts.service,
      reservations: parts.reservations,
      logger: testKit('inventory').logger,
      now: () => now,
    });
    now = new Date(now.getTime() + 901_000);
    const swept = await per(10, async () => {
      expect((await sweeper.sweepOnce()).expired).to.equal(10);
    });
    report('expiry, per reservation, one pass for 10', swept);
    expect(swept).to.deep.equal({
      'find reservations': 0.2,
      'find stock': 0.1,
      'findAndModify reservations': 1,
      'update stock': 1,
    });
    expect(await parts.stock.get('lamp')).to.deep.include({ available: 1000, reserved: 0 });
  });

  it('when the relays run, then each event costs the relay at most one command: the writer hands its entries over, nothing is read back', async function () {
    this.timeout(60_000);
    for (const relay of parts.relays) relay.start();
    await eventually(() => published.some((e) => e.type === 'StockAdjusted'), 'StockAdjusted');
    const n = 10;
    const all = await per(n, async () => {
      for (let i = 0; i < n; i++) {
        await reserve(`r-${i}`);
        await delivered('StockReserved', `r-${i}`);
        await parts.service.commit(`r-${i}`);
        await delivered('StockCommitted', `r-${i}`);
      }
      // The last event's outbox is emptied after it is published.
      await eventually(drained, 'the outbox emptied');
    });
    const relay: Counts = {};
    for (const [key, value] of Object.entries(all)) {
      const own = { 'insert reservations': 1, 'update stock': 2, 'findAndModify reservations': 2 }[key] ?? 0;
      const d = Math.round((value - own) * 100) / 100;
      if (d > 0) relay[key] = d;
    }
    report('relays per reserve + commit (2 events)', relay);
    // At most one removal per event; entries published within markDelayMs of each other share one.
    expect(relay['update reservations']).to.be.greaterThan(0).and.at.most(2);
    // Only the relays' polls, every second while this runs: the events themselves are offered, never looked up.
    expect(relay['find reservations'] ?? 0).to.be.at.most(0.5);
  });

  async function drained(): Promise<boolean> {
    const db = uncounted.db(mongo.db.databaseName);
    const pending = await db.collection('reservations').countDocuments({ outboxPending: true });
    return pending === 0;
  }
});
