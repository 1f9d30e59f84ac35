import { expect } from 'chai';
import request from 'supertest';
import { InMemoryOutboxStore } from '@meshmart/kit/events';
import { InMemoryReservationRepository } from '../../../../services/inventory/src/adapters/in-memory-reservation-repository.ts';
import { InMemoryStockRepository } from '../../../../services/inventory/src/adapters/in-memory-stock-repository.ts';
import { InventoryService } from '../../../../services/inventory/src/domain/inventory-service.ts';
import { ReservationSweeper } from '../../../../services/inventory/src/domain/reservation-sweeper.ts';
import type { Reservation } from '../../../../services/inventory/src/domain/stock.ts';
import { eachBackend, eventually, testKit } from '../../../support/stores.ts';
import { inventoryHarness, type InventoryHarness } from '../harness.ts';

const line = (productId: string, quantity: number) => ({ productId, quantity });

eachBackend('reservation sweeper', (backend) => {
  let h: InventoryHarness;
  afterEach(async function () {
    await h.close();
  });

  it('when a reservation outlives its short ttl, then the running sweeper expires it and returns its units', async function () {
    h = await inventoryHarness(backend, { sweepMs: 50, sweeper: true });
    await h.parts.service.setStock('lamp', 5);
    await request(h.app)
      .post('/reservations')
      .send({ reservationId: 'r-1', orderId: 'o-1', items: [line('lamp', 3)], ttlSeconds: 1 })
      .expect(201);
    expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 2, reserved: 3 });
    await eventually(
      async () => {
        const r = await h.parts.reservations.get('r-1');
        // Units return just after the status changes (two documents, no transaction): wait for both.
        return r?.status === 'EXPIRED' && (await h.parts.stock.get('lamp'))?.available === 5;
      },
      'EXPIRED and the units back',
      5000,
    );
    expect(await h.parts.stock.get('lamp')).to.deep.equal({ productId: 'lamp', available: 5, reserved: 0 });
    await eventually(
      () =>
        h.published.some(
          (e) => e.type === 'StockReleased' && (e.data as { reason: string }).reason === 'expired',
        ),
      'StockReleased expired',
    );
    const again = await request(h.app).post('/reservations/r-1/commit').expect(409);
    expect(again.body.type).to.equal('/problems/reservation-not-held');
  });

  describe('with a clock the test moves', function () {
    let now: Date;
    let sweeper: ReservationSweeper;
    beforeEach(async function () {
      now = new Date('2026-03-01T10:00:00.000Z');
      h = await inventoryHarness(backend, { now: () => now, pendingTimeoutMs: 5000 });
      sweeper = new ReservationSweeper({
        service: h.parts.service,
        reservations: h.parts.reservations,
        logger: testKit('inventory').logger,
        now: () => now,
        auditEvery: 1,
      });
      await h.parts.service.setStock('lamp', 5);
      await h.parts.service.setStock('mug', 5);
    });

    const pending = (id: string, createdAt: Date): Reservation => ({
      id,
      orderId: `o-${id}`,
      items: [line('lamp', 2), line('mug', 1)],
      status: 'PENDING',
      expiresAt: new Date(createdAt.getTime() + 900_000),
      createdAt,
      updatedAt: createdAt,
    });

    it('when a reservation is not yet due, then a sweep leaves it alone', async function () {
      await h.parts.service.reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [line('lamp', 2)],
        ttlSeconds: 60,
      });
      now = new Date(now.getTime() + 59_000);
      expect(await sweeper.sweepOnce()).to.deep.equal({ expired: 0, abandoned: 0, repaired: 0 });
      expect((await h.parts.reservations.get('r-1'))?.status).to.equal('HELD');
      now = new Date(now.getTime() + 1_000);
      expect((await sweeper.sweepOnce()).expired).to.equal(1);
      expect((await h.parts.reservations.get('r-1'))?.status).to.equal('EXPIRED');
      expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 5, reserved: 0 });
    });

    it('when a reserve call died after holding some units, then the stale PENDING reservation is rolled back', async function () {
      await h.parts.reservations.create(pending('dead', now));
      await h.parts.stock.hold('lamp', 'dead', 2);
      now = new Date(now.getTime() + 4_000);
      expect((await sweeper.sweepOnce()).abandoned).to.equal(0);
      now = new Date(now.getTime() + 2_000);
      expect((await sweeper.sweepOnce()).abandoned).to.equal(1);
      const r = await h.parts.reservations.get('dead');
      expect(r).to.deep.include({ status: 'REJECTED' });
      expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 5, reserved: 0 });
      expect(await h.parts.stock.get('mug')).to.deep.include({ available: 5, reserved: 0 });
    });

    it('when a process died between a release and returning its units, then the sweep returns them once', async function () {
      await h.parts.service.reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [line('lamp', 2), line('mug', 1)],
      });
      await h.parts.reservations.transition('r-1', ['HELD'], 'RELEASED', { at: now }, []);
      await h.parts.stock.returnHold('lamp', 'r-1', 2);
      expect((await sweeper.sweepOnce()).repaired).to.equal(1);
      expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 5, reserved: 0 });
      expect(await h.parts.stock.get('mug')).to.deep.include({ available: 5, reserved: 0 });
      expect(await h.parts.stock.withHolds(10)).to.deep.equal([]);
      expect((await sweeper.sweepOnce()).repaired).to.equal(0);
      expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 5, reserved: 0 });
    });

    it('when a process died between a commit and consuming its units, then the sweep consumes them once', async function () {
      await h.parts.service.reserve({ reservationId: 'r-1', orderId: 'o-1', items: [line('lamp', 2)] });
      await h.parts.reservations.transition('r-1', ['HELD'], 'COMMITTED', { at: now }, []);
      expect((await sweeper.sweepOnce()).repaired).to.equal(1);
      await sweeper.sweepOnce();
      expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 3, reserved: 0 });
    });

    it('when a stalled call adds a hold after its reservation was rejected, then the audit returns it', async function () {
      await h.parts.reservations.create(pending('late', now));
      now = new Date(now.getTime() + 6_000);
      await sweeper.sweepOnce();
      expect((await h.parts.reservations.get('late'))?.status).to.equal('REJECTED');
      await h.parts.stock.hold('lamp', 'late', 2);
      expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 3, reserved: 2 });
      expect((await sweeper.sweepOnce()).repaired).to.equal(1);
      expect(await h.parts.stock.get('lamp')).to.deep.include({ available: 5, reserved: 0 });
    });
  });
});

describe('inventory service when the sweeper overtakes a slow reserve call', function () {
  it('when the sweeper rejects the PENDING reservation mid-call, then the call returns its holds and answers 409', async function () {
    const outbox = new InMemoryOutboxStore();
    const stock = new InMemoryStockRepository(outbox);
    const reservations = new InMemoryReservationRepository(outbox);
    let now = new Date('2026-03-01T10:00:00.000Z');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    const slowStock = Object.create(stock) as InMemoryStockRepository;
    slowStock.hold = async (productId, reservationId, quantity) => {
      const ok = await stock.hold(productId, reservationId, quantity);
      if (productId === 'lamp') {
        reached();
        await gate;
      }
      return ok;
    };
    const { logger } = testKit('inventory');
    const service = new InventoryService({
      stock: slowStock,
      reservations,
      logger,
      defaultTtlSeconds: 900,
      now: () => now,
    });
    const sweeper = new ReservationSweeper({ service, reservations, logger, now: () => now });
    await service.setStock('lamp', 5);
    await service.setStock('mug', 5);
    const call = service.reserve({
      reservationId: 'slow',
      orderId: 'o',
      items: [line('lamp', 2), line('mug', 1)],
    });
    await atGate;
    now = new Date(now.getTime() + 10_000);
    expect((await sweeper.sweepOnce()).abandoned).to.equal(1);
    release();
    const err = await call.then(
      () => undefined,
      (e: unknown) => e as { status: number; code: string },
    );
    expect(err).to.include({ status: 409, code: 'reservation-timed-out' });
    expect(await stock.get('lamp')).to.deep.include({ available: 5, reserved: 0 });
    expect(await stock.get('mug')).to.deep.include({ available: 5, reserved: 0 });
  });
});
