import { expect } from 'chai';
import request from 'supertest';
import { InventoryService } from '../../../../services/inventory/src/domain/inventory-service.ts';
import { ReservationSweeper } from '../../../../services/inventory/src/domain/reservation-sweeper.ts';
import { eachBackend, eventually, testKit } from '../../../support/stores.ts';
import { inventoryHarness, type InventoryHarness } from '../harness.ts';

eachBackend('inventory under concurrent reservations', (backend) => {
  let h: InventoryHarness;
  beforeEach(async function () {
    h = await inventoryHarness(backend);
    await h.parts.service.setStock('last-units', 10);
  });
  afterEach(async function () {
    await h.close();
  });

  it('when 100 reservations of 1 unit race for the last 10 units, then exactly 10 are held and stock never goes negative', async function () {
    this.timeout(120_000);
    const seen: { available: number; reserved: number }[] = [];
    let racing = true;
    const watcher = (async () => {
      while (racing) {
        const level = await h.parts.stock.get('last-units');
        if (level) seen.push(level);
        await new Promise((r) => setTimeout(r, 5)); // a sampling period while the race runs, not a wait
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(h.app)
          .post('/reservations')
          .send({
            reservationId: `race-${i}`,
            orderId: `order-${i}`,
            items: [{ productId: 'last-units', quantity: 1 }],
          }),
      ),
    );
    racing = false;
    await watcher;
    const created = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 409);
    expect(created, 'held').to.have.length(10);
    const other = answers.filter((a) => a.status !== 201 && a.status !== 409);
    expect(
      other.map((a) => `${a.status} ${JSON.stringify(a.body)}`),
      'other answers',
    ).to.deep.equal([]);
    expect(refused, 'out of stock').to.have.length(90);
    for (const r of refused) expect(r.body.type).to.equal('/problems/out-of-stock');
    expect(await h.parts.stock.get('last-units')).to.deep.equal({
      productId: 'last-units',
      available: 0,
      reserved: 10,
    });
    expect(seen.length).to.be.greaterThan(0);
    for (const s of seen) {
      expect(s.available).to.be.at.least(0);
      expect(s.reserved).to.be.at.least(0);
      expect(s.available + s.reserved).to.equal(10);
    }
    const statuses = await Promise.all(answers.map((_, i) => h.parts.reservations.get(`race-${i}`)));
    expect(statuses.filter((r) => r?.status === 'HELD')).to.have.length(10);
    expect(statuses.filter((r) => r?.status === 'REJECTED')).to.have.length(90);
  });

  it('when reservations of several units race through the domain service, then units held never exceed the stock', async function () {
    this.timeout(120_000);
    await h.parts.service.setStock('other', 7);
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        h.parts.service.reserve({
          reservationId: `multi-${i}`,
          orderId: `o-${i}`,
          items: [
            { productId: 'last-units', quantity: 1 + (i % 3) },
            { productId: 'other', quantity: 1 },
          ],
        }),
      ),
    );
    const held = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.reservation] : []));
    const heldUnits = held.reduce((n, r) => n + r.items[0].quantity, 0);
    const a = (await h.parts.stock.get('last-units'))!;
    const b = (await h.parts.stock.get('other'))!;
    expect(a.reserved).to.equal(heldUnits);
    expect(a.available)
      .to.equal(10 - heldUnits)
      .and.to.be.at.least(0);
    expect(b).to.deep.equal({ productId: 'other', available: 7 - held.length, reserved: held.length });
    expect(held.length).to.be.at.most(7);
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as { code: string }).code).to.equal('out-of-stock');
  });
});

eachBackend('inventory with two replicas and a clock the test moves', (backend) => {
  let h: InventoryHarness;
  let now: Date;
  let other: InventoryService;
  beforeEach(async function () {
    now = new Date('2026-03-01T10:00:00.000Z');
    h = await inventoryHarness(backend, { now: () => now });
    other = new InventoryService({
      stock: h.parts.stock,
      reservations: h.parts.reservations,
      logger: testKit('inventory').logger,
      defaultTtlSeconds: 900,
      now: () => now,
      onWrite: () => h.parts.relays.forEach((r) => r.nudge()),
    });
    await h.parts.service.setStock('lamp', 10);
  });
  afterEach(async function () {
    await h.close();
  });

  const reserve = (id: string, ttlSeconds = 60) =>
    h.parts.service.reserve({
      reservationId: id,
      orderId: `o-${id}`,
      items: [{ productId: 'lamp', quantity: 2 }],
      ttlSeconds,
    });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as { status: number; code: string; extensions?: Record<string, unknown> },
    );

  it('when the other replica released a reservation, then a commit where it was made answers 409 and units count once', async function () {
    await reserve('r-1');
    expect((await other.release('r-1')).status).to.equal('RELEASED');
    const err = await failure(h.parts.service.commit('r-1'));
    expect(err).to.deep.include({ status: 409, code: 'reservation-not-held' });
    expect(err?.extensions).to.deep.equal({ reservationStatus: 'RELEASED' });
    expect(await h.parts.stock.get('lamp')).to.deep.equal({ productId: 'lamp', available: 10, reserved: 0 });
    expect((await other.commit('r-2').catch((e: unknown) => e as { status: number })).status).to.equal(404);
  });

  it('when a replica that did not make the reservation commits it, then it is committed and repeats answer the same', async function () {
    await reserve('r-1');
    expect((await other.commit('r-1')).status).to.equal('COMMITTED');
    expect((await h.parts.service.commit('r-1')).status).to.equal('COMMITTED');
    expect((await other.commit('r-1')).status).to.equal('COMMITTED');
    expect(await h.parts.stock.get('lamp')).to.deep.equal({ productId: 'lamp', available: 8, reserved: 0 });
    await eventually(
      () => h.published.filter((e) => e.type === 'StockCommitted').length === 1,
      'one StockCommitted',
    );
  });

  it('when commits, releases and the sweeper race at the expiry, then it ends EXPIRED once with its units back', async function () {
    await reserve('r-1');
    now = new Date(now.getTime() + 60_000);
    const sweeper = new ReservationSweeper({
      service: h.parts.service,
      reservations: h.parts.reservations,
      logger: testKit('inventory').logger,
      now: () => now,
    });
    const [sweep, ...answers] = await Promise.allSettled([
      sweeper.sweepOnce(),
      h.parts.service.commit('r-1'),
      other.commit('r-1'),
      h.parts.service.release('r-1'),
      other.release('r-1'),
    ]);
    expect(sweep.status).to.equal('fulfilled');
    const [commitA, commitB, releaseA, releaseB] = answers;
    for (const c of [commitA, commitB]) {
      expect(c.status).to.equal('rejected');
      expect((c as PromiseRejectedResult).reason).to.deep.include({
        status: 409,
        code: 'reservation-not-held',
      });
    }
    for (const r of [releaseA, releaseB]) {
      expect(r.status).to.equal('fulfilled');
      expect((r as PromiseFulfilledResult<{ status: string }>).value.status).to.equal('EXPIRED');
    }
    expect((await h.parts.reservations.get('r-1'))?.status).to.equal('EXPIRED');
    expect(await h.parts.stock.get('lamp')).to.deep.equal({ productId: 'lamp', available: 10, reserved: 0 });
    await eventually(() => h.published.some((e) => e.type === 'StockReleased'), 'StockReleased');
    const released = h.published.filter((e) => e.type === 'StockReleased');
    expect(released.map((e) => (e.data as { reason: string }).reason)).to.deep.equal(['expired']);
    expect(h.published.filter((e) => e.type === 'StockCommitted')).to.deep.equal([]);
  });
});
