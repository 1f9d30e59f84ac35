import { expect } from 'chai';
import { InventoryService } from '../../../../services/inventory/src/domain/inventory-service.ts';
import { ReservationSweeper } from '../../../../services/inventory/src/domain/reservation-sweeper.ts';
import type { StockLine } from '../../../../services/inventory/src/domain/stock.ts';
import { eachBackend, eventually, testKit } from '../../../support/stores.ts';
import { inventoryHarness, type InventoryHarness } from '../harness.ts';

class Crash extends Error {}

/** `target` whose `writes` fail, unsent, once `budget.left` writes have been made: a process dying between two writes. */
function dying<T extends object>(target: T, writes: readonly string[], budget: { left: number }): T {
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!writes.includes(String(prop))) return method.bind(obj);
      return (...args: unknown[]) =>
        budget.left-- > 0
          ? method.apply(obj, args)
          : Promise.reject(new Crash(`died before ${String(prop)}`));
    },
  });
}

const STOCK_WRITES = ['setAvailable', 'seed', 'hold', 'consumeHold', 'returnHold'];
const RESERVATION_WRITES = ['create', 'transition'];
const INITIAL = 5;

interface Scenario {
  readonly name: string;
  readonly lines: (k: number) => StockLine[];
  /** Writes the scenario makes when nothing dies, and how it ends then. */
  readonly writes: number;
  readonly ends: 'done' | 'refused';
  readonly run: (service: InventoryService, id: string, lines: StockLine[]) => Promise<unknown>;
}

const scenarios: Scenario[] = [
  {
    name: 'a reserve and a commit',
    lines: (k) => [
      { productId: `lamp-${k}`, quantity: 2 },
      { productId: `mug-${k}`, quantity: 1 },
    ],
    writes: 7, // create, 2 holds, ->HELD, ->COMMITTED, 2 consumes
    ends: 'done',
    run: async (service, id, items) => {
      await service.reserve({ reservationId: id, orderId: `o-${id}`, items });
      await service.commit(id);
    },
  },
  {
    name: 'a reserve and a release',
    lines: (k) => [
      { productId: `lamp-${k}`, quantity: 2 },
      { productId: `mug-${k}`, quantity: 1 },
    ],
    writes: 7,
    ends: 'done',
    run: async (service, id, items) => {
      await service.reserve({ reservationId: id, orderId: `o-${id}`, items });
      await service.release(id);
    },
  },
  {
    name: 'a reserve refused at its second line',
    lines: (k) => [
      { productId: `lamp-${k}`, quantity: 2 },
      { productId: `mug-${k}`, quantity: INITIAL + 1 },
    ],
    writes: 5, // create, 1 hold, 1 failed hold, ->REJECTED, 1 return
    ends: 'refused',
    run: (service, id, items) => service.reserve({ reservationId: id, orderId: `o-${id}`, items }),
  },
];

eachBackend('inventory after a process dies at any write', (backend) => {
  for (const scenario of scenarios) {
    describe(scenario.name, function () {
      let h: InventoryHarness;
      let now: Date;
      before(async function () {
        now = new Date('2026-03-01T10:00:00.000Z');
        h = await inventoryHarness(backend, { now: () => now, pendingTimeoutMs: 5000 });
      });
      after(async function () {
        await h.close();
      });

      for (let k = 0; k <= scenario.writes; k++) {
        it(`when it dies after ${k} writes, then one sweep leaves every unit counted once and every change announced`, async function () {
          const id = `r-${k}`;
          const lines = scenario.lines(k);
          for (const l of lines) await h.parts.service.setStock(l.productId, INITIAL);
          const budget = { left: k };
          const doomed = new InventoryService({
            stock: dying(h.parts.stock, STOCK_WRITES, budget),
            reservations: dying(h.parts.reservations, RESERVATION_WRITES, budget),
            logger: testKit('inventory').logger,
            defaultTtlSeconds: 900,
            now: () => now,
            onWrite: () => h.parts.relays.forEach((r) => r.nudge()),
          });
          const outcome = await scenario.run(doomed, id, lines).then(
            () => 'done',
            (err: unknown) => (err instanceof Crash ? 'died' : 'refused'),
          );
          expect(outcome).to.equal(k < scenario.writes ? 'died' : scenario.ends);

          // The next process: its sweeper, once the dead call's PENDING reservation counts as abandoned.
          now = new Date(now.getTime() + 6000);
          const sweeper = new ReservationSweeper({
            service: h.parts.service,
            reservations: h.parts.reservations,
            logger: testKit('inventory').logger,
            now: () => now,
          });
          await sweeper.sweepOnce();

          const r = await h.parts.reservations.get(id);
          expect(r?.status ?? 'none').to.be.oneOf(['none', 'HELD', 'COMMITTED', 'RELEASED', 'REJECTED']);
          for (const l of lines) {
            const level = (await h.parts.stock.get(l.productId))!;
            const sold = r?.status === 'COMMITTED' ? l.quantity : 0;
            const reserved = r?.status === 'HELD' ? l.quantity : 0;
            expect(level, l.productId).to.deep.equal({
              productId: l.productId,
              available: INITIAL - sold - reserved,
              reserved,
            });
          }
          const holds = (await h.parts.stock.withHolds(1000)).filter((s) => s.holds.includes(id));
          expect(holds.length, 'holds left').to.equal(r?.status === 'HELD' ? lines.length : 0);

          const announced = (type: string) =>
            h.published.some(
              (e) => e.type === type && (e.data as { reservationId?: string }).reservationId === id,
            );
          const expected = {
            StockReserved: r !== undefined && ['HELD', 'COMMITTED', 'RELEASED'].includes(r.status),
            StockCommitted: r?.status === 'COMMITTED',
            StockReleased: r?.status === 'RELEASED',
          };
          await eventually(
            () => Object.entries(expected).every(([type, yes]) => announced(type) === yes),
            `events ${JSON.stringify(expected)} for ${r?.status ?? 'none'}`,
          );

          // What the caller does next: the same calls again end where they would have without the crash.
          if (r?.status === 'HELD' || r?.status === 'COMMITTED') {
            await scenario.run(h.parts.service, id, lines).catch(() => undefined);
            const again = await h.parts.reservations.get(id);
            expect(again?.status).to.equal(scenario.name.includes('commit') ? 'COMMITTED' : 'RELEASED');
          }
        });
      }
    });
  }
});
