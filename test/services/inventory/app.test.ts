import { expect } from 'chai';
import request from 'supertest';
import { eachBackend, eventually } from '../../support/stores.ts';
import { inventoryHarness, type InventoryHarness } from './harness.ts';
import { ADMIN_HEADERS } from '../../support/admin.ts';

const PROBLEM = /^application\/problem\+json/;

eachBackend('inventory API', (backend) => {
  let h: InventoryHarness;
  beforeEach(async function () {
    h = await inventoryHarness(backend, { bodyLimitBytes: 4096 });
    await h.parts.service.setStock('lamp', 5);
    await h.parts.service.setStock('mug', 3);
  });
  afterEach(async function () {
    await h.close();
  });

  const reserve = (body: Record<string, unknown>) => request(h.app).post('/reservations').send(body);
  const stockOf = async (id: string) => (await request(h.app).get(`/stock/${id}`).expect(200)).body;
  const types = () => h.published.map((e) => e.type);

  describe('stock', function () {
    it('when stock is read, then available and reserved are answered', async function () {
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 5, reserved: 0 });
    });

    it('when several products are read, then the known ones are listed', async function () {
      const res = await request(h.app).get('/stock?ids=lamp,nope,mug').expect(200);
      expect(res.body.items.map((i: { productId: string }) => i.productId)).to.deep.equal(['lamp', 'mug']);
    });

    it('when an unknown product is read, then the answer is 404 product-not-found', async function () {
      const res = await request(h.app).get('/stock/nope').expect(404).expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/product-not-found');
    });

    it('when stock is set without the admin token, or with another, then 401 problem+json and the stock is unchanged', async function () {
      const before = (await request(h.app).get('/stock/lamp').expect(200)).body;
      const adjusted = () =>
        h.published.filter(
          (e) => e.type === 'StockAdjusted' && (e.data as { available: number }).available === 9999,
        );
      for (const headers of [{}, { 'x-admin-token': 'x'.repeat(40) }, { authorization: 'Bearer anything' }]) {
        const res = await request(h.app)
          .put('/admin/stock/lamp')
          .set(headers)
          .send({ available: 9999 })
          .expect(401)
          .expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/admin-token-required');
      }
      expect((await request(h.app).get('/stock/lamp').expect(200)).body).to.deep.equal(before);
      expect(adjusted()).to.have.length(0);
    });

    it('when an admin sets stock, then it is answered and StockAdjusted is published', async function () {
      const res = await request(h.app)
        .put('/admin/stock/lamp')
        .set(ADMIN_HEADERS)
        .send({ available: 42 })
        .expect(200);
      expect(res.body).to.deep.equal({ productId: 'lamp', available: 42, reserved: 0 });
      await eventually(
        () =>
          h.published.some(
            (e) => e.type === 'StockAdjusted' && (e.data as { available: number }).available === 42,
          ),
        'StockAdjusted 42',
      );
    });
  });

  describe('reservations', function () {
    it('when stock suffices, then 201 HELD, units move to reserved and StockReserved is published', async function () {
      const res = await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [
          { productId: 'lamp', quantity: 2 },
          { productId: 'mug', quantity: 3 },
        ],
      }).expect(201);
      expect(res.body).to.include({ id: 'r-1', orderId: 'o-1', status: 'HELD' });
      expect(Date.parse(res.body.expiresAt) - Date.now()).to.be.within(890_000, 900_000);
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 3, reserved: 2 });
      expect(await stockOf('mug')).to.deep.equal({ productId: 'mug', available: 0, reserved: 3 });
      await eventually(() => types().includes('StockReserved'), 'StockReserved');
      const event = h.published.find((e) => e.type === 'StockReserved')!;
      expect(event.data).to.deep.include({ reservationId: 'r-1', orderId: 'o-1' });
    });

    it('when the same reservation is made again, then 200 answers the first and nothing more is reserved', async function () {
      const body = { reservationId: 'r-1', orderId: 'o-1', items: [{ productId: 'lamp', quantity: 2 }] };
      const first = await reserve(body).expect(201);
      const again = await reserve(body).expect(200);
      expect(again.body).to.deep.equal(first.body);
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 3, reserved: 2 });
    });

    it('when the same id comes with other items, then 409 reservation-conflict and nothing changes', async function () {
      await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [{ productId: 'lamp', quantity: 2 }],
      }).expect(201);
      const res = await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [{ productId: 'lamp', quantity: 1 }],
      })
        .expect(409)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/reservation-conflict');
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 3, reserved: 2 });
    });

    it('when one item lacks stock, then 409 out-of-stock names it and nothing is reserved', async function () {
      const res = await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [
          { productId: 'lamp', quantity: 2 },
          { productId: 'mug', quantity: 4 },
        ],
      })
        .expect(409)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/out-of-stock');
      expect(res.body.products).to.deep.equal(['mug']);
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 5, reserved: 0 });
      expect(await stockOf('mug')).to.deep.equal({ productId: 'mug', available: 3, reserved: 0 });
      const repeat = await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [
          { productId: 'lamp', quantity: 2 },
          { productId: 'mug', quantity: 4 },
        ],
      }).expect(409);
      expect(repeat.body.type).to.equal('/problems/out-of-stock');
      expect((await request(h.app).get('/reservations/r-1').expect(200)).body.status).to.equal('REJECTED');
    });

    it('when a product is unknown, then 404 product-not-found names it and nothing is reserved', async function () {
      const res = await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [
          { productId: 'lamp', quantity: 1 },
          { productId: 'ghost', quantity: 1 },
        ],
      })
        .expect(404)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/product-not-found');
      expect(res.body.products).to.deep.equal(['ghost']);
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 5, reserved: 0 });
    });

    it('when a reservation is committed, then the reserved units leave, a repeat answers the same, release is 409', async function () {
      await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [{ productId: 'lamp', quantity: 2 }],
      }).expect(201);
      const res = await request(h.app).post('/reservations/r-1/commit').expect(200);
      expect(res.body.status).to.equal('COMMITTED');
      await request(h.app).post('/reservations/r-1/commit').expect(200);
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 3, reserved: 0 });
      const release = await request(h.app)
        .post('/reservations/r-1/release')
        .expect(409)
        .expect('content-type', PROBLEM);
      expect(release.body.type).to.equal('/problems/reservation-committed');
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 3, reserved: 0 });
      await eventually(
        () => types().filter((t) => t === 'StockCommitted').length === 1,
        'one StockCommitted',
      );
    });

    it('when a reservation is released, then the units return, a repeat answers the same, commit is 409', async function () {
      await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [{ productId: 'lamp', quantity: 2 }],
      }).expect(201);
      expect((await request(h.app).post('/reservations/r-1/release').expect(200)).body.status).to.equal(
        'RELEASED',
      );
      expect((await request(h.app).post('/reservations/r-1/release').expect(200)).body.status).to.equal(
        'RELEASED',
      );
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 5, reserved: 0 });
      const commit = await request(h.app)
        .post('/reservations/r-1/commit')
        .expect(409)
        .expect('content-type', PROBLEM);
      expect(commit.body.type).to.equal('/problems/reservation-not-held');
      await eventually(
        () =>
          h.published.some(
            (e) => e.type === 'StockReleased' && (e.data as { reason: string }).reason === 'released',
          ),
        'StockReleased',
      );
    });

    it('when commit and release race, then exactly one wins and the units are counted once', async function () {
      await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [{ productId: 'lamp', quantity: 2 }],
      }).expect(201);
      const answers = await Promise.all([
        request(h.app).post('/reservations/r-1/commit'),
        request(h.app).post('/reservations/r-1/release'),
        request(h.app).post('/reservations/r-1/commit'),
        request(h.app).post('/reservations/r-1/release'),
      ]);
      const status = (await request(h.app).get('/reservations/r-1').expect(200)).body.status;
      const lamp = await stockOf('lamp');
      expect(lamp.reserved).to.equal(0);
      expect(lamp.available).to.equal(status === 'COMMITTED' ? 3 : 5);
      for (const a of answers) expect(a.status).to.be.oneOf([200, 409]);
    });

    it('when an unknown reservation is read, committed or released, then 404 reservation-not-found', async function () {
      for (const req of [
        request(h.app).get('/reservations/nope'),
        request(h.app).post('/reservations/nope/commit'),
        request(h.app).post('/reservations/nope/release'),
      ]) {
        const res = await req.expect(404).expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/reservation-not-found');
      }
    });

    it('when a reservation is past its expiry, then commit answers 409 and its units are back', async function () {
      const held = await reserve({
        reservationId: 'r-1',
        orderId: 'o-1',
        items: [{ productId: 'lamp', quantity: 2 }],
        ttlSeconds: 1,
      }).expect(201);
      const expiresAt = Date.parse(held.body.expiresAt);
      // Time-based: wait for the clock to pass the reservation's expiry, however long that takes here.
      await eventually(() => Date.now() > expiresAt, `the clock to pass the expiry ${held.body.expiresAt}`);
      const res = await request(h.app).post('/reservations/r-1/commit').expect(409);
      expect(res.body.reservationStatus).to.equal('EXPIRED');
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 5, reserved: 0 });
      expect((await request(h.app).post('/reservations/r-1/release').expect(200)).body.status).to.equal(
        'EXPIRED',
      );
    });
  });

  describe('bad input', function () {
    const unchanged = async () => {
      expect(await stockOf('lamp')).to.deep.equal({ productId: 'lamp', available: 5, reserved: 0 });
      expect(await stockOf('mug')).to.deep.equal({ productId: 'mug', available: 3, reserved: 0 });
      await request(h.app).get('/reservations/r-1').expect(404);
    };
    const line = (quantity: unknown, productId: unknown = 'lamp') => ({ productId, quantity });
    const bodies: [string, unknown][] = [
      ['a zero quantity', { reservationId: 'r-1', orderId: 'o', items: [line(0)] }],
      ['a negative quantity', { reservationId: 'r-1', orderId: 'o', items: [line(-2)] }],
      ['a huge quantity', { reservationId: 'r-1', orderId: 'o', items: [line(1e12)] }],
      ['a fractional quantity', { reservationId: 'r-1', orderId: 'o', items: [line(1.5)] }],
      ['a quantity as a string', { reservationId: 'r-1', orderId: 'o', items: [line('2')] }],
      ['no items', { reservationId: 'r-1', orderId: 'o', items: [] }],
      ['no reservation id', { orderId: 'o', items: [line(1)] }],
      ['a bad product id', { reservationId: 'r-1', orderId: 'o', items: [line(1, '../x')] }],
      ['an unknown field', { reservationId: 'r-1', orderId: 'o', items: [line(1)], extra: 1 }],
      ['a zero ttl', { reservationId: 'r-1', orderId: 'o', items: [line(1)], ttlSeconds: 0 }],
      ['a product listed twice', { reservationId: 'r-1', orderId: 'o', items: [line(1), line(2)] }],
    ];
    for (const [what, body] of bodies) {
      it(`when a reservation has ${what}, then 400 problem+json and nothing changes`, async function () {
        const res = await request(h.app)
          .post('/reservations')
          .send(body as object)
          .expect(400)
          .expect('content-type', PROBLEM);
        expect(res.body.status).to.equal(400);
        await unchanged();
      });
    }

    it('when a product is listed twice, then the problem is duplicate-product naming it', async function () {
      const res = await reserve({
        reservationId: 'r-1',
        orderId: 'o',
        items: [line(1), line(2), line(1, 'mug')],
      }).expect(400);
      expect(res.body).to.include({ type: '/problems/duplicate-product' });
      expect(res.body.products).to.deep.equal(['lamp']);
    });

    it('when the JSON is malformed, then 400 invalid-json and nothing changes', async function () {
      for (const path of ['/reservations', '/admin/stock/lamp']) {
        const req =
          path === '/reservations' ? request(h.app).post(path) : request(h.app).put(path).set(ADMIN_HEADERS);
        const res = await req
          .set('content-type', 'application/json')
          .send('{"items": [')
          .expect(400)
          .expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/invalid-json');
      }
      await unchanged();
    });

    it('when the body is oversized, then 413 and nothing changes', async function () {
      const items = Array.from({ length: 90 }, (_, i) => line(1, `product-with-a-long-name-${i}`));
      await reserve({ reservationId: 'r-1', orderId: 'o', items })
        .expect(413)
        .expect('content-type', PROBLEM);
      await request(h.app)
        .put('/admin/stock/lamp')
        .set(ADMIN_HEADERS)
        .send({ available: 1, pad: 'x'.repeat(5000) })
        .expect(413);
      await unchanged();
    });

    for (const [what, body] of [
      ['a negative count', { available: -1 }],
      ['a huge count', { available: 1e15 }],
      ['a fraction', { available: 2.5 }],
      ['a string', { available: '7' }],
      ['nothing', {}],
    ] as [string, object][]) {
      it(`when an admin sets stock to ${what}, then 400 and nothing changes`, async function () {
        await request(h.app)
          .put('/admin/stock/lamp')
          .set(ADMIN_HEADERS)
          .send(body)
          .expect(400)
          .expect('content-type', PROBLEM);
        await unchanged();
      });
    }

    it('when ids are malformed, then 400 on every endpoint and nothing changes', async function () {
      await request(h.app).get('/stock/bad%20id').expect(400).expect('content-type', PROBLEM);
      await request(h.app).get('/stock').expect(400).expect('content-type', PROBLEM);
      await request(h.app).get('/stock?ids=lamp,,mug').expect(400).expect('content-type', PROBLEM);
      await request(h.app).put('/admin/stock/bad%20id').set(ADMIN_HEADERS).send({ available: 1 }).expect(400);
      await request(h.app).get('/reservations/bad%20id').expect(400);
      await request(h.app).post('/reservations/bad%20id/commit').expect(400);
      await request(h.app).post('/reservations/bad%20id/release').expect(400);
      await unchanged();
    });
  });

  it('when the OpenAPI document is read, then every route has an operationId', async function () {
    const doc = (await request(h.app).get('/openapi.json').expect(200)).body;
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
      (p) => Object.values(p).map((o) => o.operationId),
    );
    expect(ops).to.have.members([
      'getStock',
      'listStock',
      'setStock',
      'reserveStock',
      'getReservation',
      'commitReservation',
      'releaseReservation',
    ]);
  });
});
