import { expect } from 'chai';
import request from 'supertest';
import { eachBackend } from '../../../support/stores.ts';
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
