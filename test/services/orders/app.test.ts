import { expect } from 'chai';
import request from 'supertest';
import { eachBackend } from '../../support/stores.ts';
import { fold } from '../../../services/orders/src/domain/order-aggregate.ts';
import { openHarness, settled, type Harness } from './harness.ts';
import { ADMIN_HEADERS } from '../../support/admin.ts';

const PROBLEM = /^application\/problem\+json/;
const items = [
  { productId: 'p-1', name: 'Lamp', unitPriceCents: 1250, quantity: 2 },
  { productId: 'p-2', name: 'Mug', unitPriceCents: 399, quantity: 1 },
];
const order = (orderId: string, userId = 'alice') => ({ orderId, userId, items, currency: 'USD' });
/** Lets a few milliseconds pass, so two events get different occurredAt (time-based; a slow machine only adds more). */
const tick = () => new Promise((r) => setTimeout(r, 5));

eachBackend('orders API', (backend) => {
  let h: Harness;
  afterEach(async function () {
    await h.close();
  });

  /** Everything a failed request must leave as it was: the stored events and the read model. */
  async function snapshot(orderId = 'o-1') {
    return {
      events: await h.store.load(orderId),
      view: await h.views.get(orderId),
      list: await h.views.list({ page: 1, limit: 100 }),
    };
  }

  async function projected(orderId: string, version: number): Promise<void> {
    await settled(
      async () => (await h.views.get(orderId))?.version === version,
      `${orderId} projected at v${version}`,
    );
  }

  describe('when an order goes through its whole lifecycle', () => {
    beforeEach(async function () {
      h = await openHarness(backend);
    });

    it('then place, stock-reserved, payment-authorized and confirm lead to CONFIRMED, in the read model and the events', async function () {
      const placed = await request(h.app).post('/orders').send(order('o-1')).expect(201);
      expect(placed.body).to.deep.include({
        id: 'o-1',
        userId: 'alice',
        status: 'PENDING',
        totalCents: 2899,
        currency: 'USD',
        version: 1,
      });
      const reserved = await request(h.app)
        .post('/orders/o-1/stock-reserved')
        .send({ reservationId: 'r-1' })
        .expect(200);
      expect(reserved.body).to.deep.include({ version: 2, reservationId: 'r-1', status: 'PENDING' });
      const paid = await request(h.app)
        .post('/orders/o-1/payment-authorized')
        .send({ paymentId: 'pay-1', expectedVersion: 2 })
        .expect(200);
      expect(paid.body).to.deep.include({ version: 3, paymentId: 'pay-1' });
      const confirmed = await request(h.app).post('/orders/o-1/confirm').send({}).expect(200);
      expect(confirmed.body).to.deep.include({ version: 4, status: 'CONFIRMED' });
      expect(confirmed.body.history.map((e: { type: string }) => e.type)).to.deep.equal([
        'OrderPlaced',
        'OrderStockReserved',
        'OrderPaymentAuthorized',
        'OrderConfirmed',
      ]);

      await projected('o-1', 4);
      const got = await request(h.app).get('/orders/o-1').expect(200);
      expect(got.body).to.deep.equal(confirmed.body);
      const list = await request(h.app).get('/orders?userId=alice').expect(200);
      expect(list.body).to.deep.include({ page: 1, limit: 20, total: 1 });
      expect(list.body.items[0]).to.deep.equal(confirmed.body);
      const events = await request(h.app).get('/orders/o-1/events').expect(200);
      expect(events.body.items.map((e: { version: number }) => e.version)).to.deep.equal([1, 2, 3, 4]);
      expect(events.body.items[1]).to.deep.include({ type: 'OrderStockReserved' });
      expect(events.body.items[1].data).to.deep.equal({
        orderId: 'o-1',
        userId: 'alice',
        orderVersion: 2,
        reservationId: 'r-1',
      });
    });

    it('then a cancellation with a reason shows in GET and in the history', async function () {
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      await request(h.app).post('/orders/o-1/cancel').send({ reason: 'payment declined' }).expect(200);
      await projected('o-1', 2);
      const got = await request(h.app).get('/orders/o-1').expect(200);
      expect(got.body).to.deep.include({ status: 'CANCELLED', reason: 'payment declined', version: 2 });
      expect(got.body.history[1]).to.deep.include({ type: 'OrderCancelled', version: 2 });
      expect(got.body.history[1].data.reason).to.equal('payment declined');
    });

    it('then asOf between two events shows PENDING, before the first 404, after the last CONFIRMED', async function () {
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      await tick();
      await request(h.app).post('/orders/o-1/confirm').send({}).expect(200);
      const events = (await request(h.app).get('/orders/o-1/events').expect(200)).body.items as {
        occurredAt: string;
      }[];
      const [t1, t2] = events.map((e) => Date.parse(e.occurredAt));
      expect(t2).to.be.greaterThan(t1);
      const between = new Date(t1).toISOString();
      const then = await request(h.app)
        .get(`/orders/o-1?asOf=${encodeURIComponent(between)}`)
        .expect(200);
      expect(then.body).to.deep.include({ status: 'PENDING', version: 1 });
      expect(then.body.history).to.have.length(1);
      const before = new Date(t1 - 1).toISOString();
      const none = await request(h.app)
        .get(`/orders/o-1?asOf=${encodeURIComponent(before)}`)
        .expect(404);
      expect(none.headers['content-type']).to.match(PROBLEM);
      const after = await request(h.app).get(
        `/orders/o-1?asOf=${encodeURIComponent(new Date(t2).toISOString())}`,
      );
      expect(after.body).to.deep.include({ status: 'CONFIRMED', version: 2 });
    });

    it('then repeating an applied command answers 200 with no new event, even with the old expectedVersion', async function () {
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      const again = await request(h.app).post('/orders').send(order('o-1')).expect(200);
      expect(again.body.version).to.equal(1);
      await request(h.app)
        .post('/orders/o-1/stock-reserved')
        .send({ reservationId: 'r-1', expectedVersion: 1 })
        .expect(200);
      await request(h.app)
        .post('/orders/o-1/stock-reserved')
        .send({ reservationId: 'r-1', expectedVersion: 1 })
        .expect(200);
      await request(h.app).post('/orders/o-1/cancel').send({ reason: 'timeout' }).expect(200);
      const repeat = await request(h.app).post('/orders/o-1/cancel').send({ reason: 'timeout' }).expect(200);
      expect(repeat.body).to.deep.include({ version: 3, status: 'CANCELLED' });
      expect(await h.store.load('o-1')).to.have.length(3);
    });

    it('then the rebuild endpoint restores a deleted or corrupted read model', async function () {
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      await request(h.app).post('/orders').send(order('o-2', 'bob')).expect(201);
      await request(h.app).post('/orders/o-2/confirm').send({}).expect(200);
      await projected('o-1', 1);
      await projected('o-2', 2);
      const before = (await request(h.app).get('/orders').expect(200)).body;
      expect(before.total).to.equal(2);
      const o2 = (await h.views.get('o-2'))!;
      await h.views.clear();
      await h.views.put({ ...o2, status: 'CANCELLED', reason: 'corrupt', version: 7 });
      const rebuilt = await request(h.app).post('/admin/read-model/rebuild').set(ADMIN_HEADERS).expect(200);
      expect(rebuilt.body).to.deep.equal({ orders: 2, events: 3 });
      expect((await request(h.app).get('/orders').expect(200)).body).to.deep.equal(before);
    });
  });

  describe('when the read model has not caught up', () => {
    beforeEach(async function () {
      h = await openHarness(backend, { project: false });
    });

    it('then GET right after placing folds the events instead of answering 404', async function () {
      const placed = await request(h.app).post('/orders').send(order('o-1')).expect(201);
      expect(await h.views.get('o-1')).to.equal(undefined);
      const got = await request(h.app).get('/orders/o-1').expect(200);
      expect(got.body).to.deep.equal(placed.body);
    });
  });

  describe('when a reader asks to wait (Prefer: wait)', () => {
    beforeEach(async function () {
      h = await openHarness(backend);
    });

    it('then the answer comes with the settled order as soon as a command confirms it', async function () {
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      const waiting = request(h.app).get('/orders/o-1').set('Prefer', 'wait=15');
      const answer = waiting.then((r) => r);
      await settled(() => h.changes.size === 1, 'the reader to be waiting');
      await request(h.app).post('/orders/o-1/confirm').send({}).expect(200);
      const got = await answer;
      expect(got.status).to.equal(200);
      expect(got.headers['preference-applied']).to.equal('wait=15');
      expect(got.body).to.deep.include({ id: 'o-1', status: 'CONFIRMED' });
      expect(h.changes.size).to.equal(0);
    });

    it('then an order not placed yet (its checkout was just accepted) is waited for, and one that never comes is a 404 after the wait', async function () {
      const waiting = request(h.app)
        .get('/orders/o-9')
        .set('Prefer', 'wait=15')
        .then((r) => r);
      await settled(() => h.changes.size === 1, 'the reader to be waiting');
      await request(h.app).post('/orders').send(order('o-9')).expect(201);
      await request(h.app).post('/orders/o-9/confirm').send({}).expect(200);
      expect((await waiting).body).to.deep.include({ id: 'o-9', status: 'CONFIRMED' });
      const never = await request(h.app).get('/orders/o-nobody').set('Prefer', 'wait=1').expect(404);
      expect(never.headers['content-type']).to.match(PROBLEM);
    });

    it('then a settled order is answered at once, and a PENDING one after the wait with Preference-Applied', async function () {
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      const pending = await request(h.app).get('/orders/o-1').set('Prefer', 'wait=1').expect(200);
      expect(pending.body.status).to.equal('PENDING');
      expect(pending.headers['preference-applied']).to.equal('wait=1');
      await request(h.app).post('/orders/o-1/cancel').send({ reason: 'test' }).expect(200);
      const settledOrder = await request(h.app).get('/orders/o-1').set('Prefer', 'wait=20').expect(200);
      expect(settledOrder.body.status).to.equal('CANCELLED');
    });

    it('then a malformed or over-long preference is not an error: ignored, or capped at 20 seconds', async function () {
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      const ignored = await request(h.app).get('/orders/o-1').set('Prefer', 'wait=soon').expect(200);
      expect(ignored.headers['preference-applied']).to.equal(undefined);
      const waiting = request(h.app)
        .get('/orders/o-1')
        .set('Prefer', 'respond-async, wait=3600')
        .then((r) => r);
      await settled(() => h.changes.size === 1, 'the reader to be waiting');
      await request(h.app).post('/orders/o-1/confirm').send({}).expect(200);
      expect((await waiting).headers['preference-applied']).to.equal('wait=20');
    });
  });

  describe('when another replica settles the order a reader waits on', () => {
    beforeEach(async function () {
      h = await openHarness(backend, { project: false });
    });

    it('then the waiting reader finds it on its next read of the read model', async function () {
      const placed = await request(h.app).post('/orders').send(order('o-1')).expect(201);
      const waiting = request(h.app)
        .get('/orders/o-1')
        .set('Prefer', 'wait=15')
        .then((r) => r);
      await settled(() => h.changes.size === 1, 'the reader to be waiting');
      // The other replica appends, and its projector writes the model: this process's ViewChanges hears of neither.
      const confirmed = {
        type: 'OrderConfirmed' as const,
        occurredAt: new Date().toISOString(),
        data: { orderId: 'o-1', userId: 'alice', orderVersion: placed.body.version + 1 },
      };
      await h.store.append('o-1', placed.body.version, [confirmed]);
      await h.views.put(fold(await h.store.load('o-1'))!);
      expect((await waiting).body.status).to.equal('CONFIRMED');
    });
  });

  describe('when commands conflict', () => {
    beforeEach(async function () {
      h = await openHarness(backend);
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
    });

    it('then a stale expectedVersion is a 409 version-conflict and nothing changes', async function () {
      await request(h.app).post('/orders/o-1/stock-reserved').send({ reservationId: 'r-1' }).expect(200);
      const before = await h.store.load('o-1');
      const res = await request(h.app).post('/orders/o-1/confirm').send({ expectedVersion: 1 }).expect(409);
      expect(res.headers['content-type']).to.match(PROBLEM);
      expect(res.body).to.deep.include({ type: '/problems/version-conflict', currentVersion: 2 });
      expect(await h.store.load('o-1')).to.deep.equal(before);
    });

    it('then cancelling a confirmed order is a 409 invalid-transition and nothing changes', async function () {
      await request(h.app).post('/orders/o-1/confirm').send({}).expect(200);
      const before = await h.store.load('o-1');
      const res = await request(h.app).post('/orders/o-1/cancel').send({ reason: 'too late' }).expect(409);
      expect(res.body).to.deep.include({ type: '/problems/invalid-transition', status: 409 });
      expect(await h.store.load('o-1')).to.deep.equal(before);
    });

    it('then confirming or recording a payment on a cancelled order is a 409 invalid-transition', async function () {
      await request(h.app).post('/orders/o-1/cancel').send({ reason: 'declined' }).expect(200);
      const before = await h.store.load('o-1');
      for (const [path, body] of [
        ['confirm', {}],
        ['payment-authorized', { paymentId: 'pay-1' }],
        ['cancel', { reason: 'another reason' }],
      ] as const) {
        const res = await request(h.app).post(`/orders/o-1/${path}`).send(body).expect(409);
        expect(res.body.type).to.equal('/problems/invalid-transition');
      }
      expect(await h.store.load('o-1')).to.deep.equal(before);
    });

    it('then the same order id with other content is a 409 order-exists', async function () {
      const res = await request(h.app).post('/orders').send(order('o-1', 'bob')).expect(409);
      expect(res.body.type).to.equal('/problems/order-exists');
      expect((await request(h.app).get('/orders/o-1').expect(200)).body.userId).to.equal('alice');
    });

    it('then two concurrent placements of one order id give one 201, and a 200 or a 409 by content', async function () {
      const same = await Promise.all([
        request(h.app).post('/orders').send(order('o-9')),
        request(h.app).post('/orders').send(order('o-9')),
      ]);
      expect(same.map((r) => r.status).sort()).to.deep.equal([200, 201]);
      const other = await Promise.all([
        request(h.app).post('/orders').send(order('o-8', 'alice')),
        request(h.app).post('/orders').send(order('o-8', 'bob')),
      ]);
      expect(other.map((r) => r.status).sort()).to.deep.equal([201, 409]);
      expect(await h.store.load('o-9')).to.have.length(1);
      expect(await h.store.load('o-8')).to.have.length(1);
    });

    it('then concurrent commands without expectedVersion are all applied in turn', async function () {
      const results = await Promise.all([
        request(h.app).post('/orders/o-1/stock-reserved').send({ reservationId: 'r-1' }),
        request(h.app).post('/orders/o-1/payment-authorized').send({ paymentId: 'pay-1' }),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal([200, 200]);
      const events = await h.store.load('o-1');
      expect(events.map((e) => e.version)).to.deep.equal([1, 2, 3]);
      expect(events.map((e) => e.type)).to.have.members([
        'OrderPlaced',
        'OrderStockReserved',
        'OrderPaymentAuthorized',
      ]);
    });
  });

  describe('when the input is bad', () => {
    beforeEach(async function () {
      h = await openHarness(backend, { bodyLimitBytes: 4096 });
      await request(h.app).post('/orders').send(order('o-1')).expect(201);
      await projected('o-1', 1);
    });

    function expectProblem(res: request.Response, status: number, type?: string): void {
      expect(res.status, JSON.stringify(res.body)).to.equal(status);
      expect(res.headers['content-type']).to.match(PROBLEM);
      if (type) expect(res.body.type).to.equal(type);
    }

    it('then POST /orders answers 4xx problem+json and stores nothing', async function () {
      const before = await snapshot('o-2');
      const line = items[0];
      const bodies: [unknown, number][] = [
        [{ ...order('o-2'), items: [] }, 400],
        [{ ...order('o-2'), items: [{ ...line, unitPriceCents: -1 }] }, 400],
        [{ ...order('o-2'), items: [{ ...line, unitPriceCents: 12.5 }] }, 400],
        [{ ...order('o-2'), items: [{ ...line, quantity: 0 }] }, 400],
        [{ ...order('o-2'), items: [{ ...line, quantity: 1_000_000 }] }, 400],
        [{ ...order('o-2'), items: [{ ...line, quantity: '2' }] }, 400],
        [{ ...order('o-2'), currency: 'EUR' }, 400],
        [{ ...order('o-2'), orderId: '' }, 400],
        [{ ...order('o-2'), extra: true }, 400],
        [{ items }, 400],
      ];
      for (const [body, status] of bodies) {
        expectProblem(
          await request(h.app)
            .post('/orders')
            .send(body as object),
          status,
          '/problems/validation-failed',
        );
      }
      const malformed = await request(h.app)
        .post('/orders')
        .set('content-type', 'application/json')
        .send('{"orderId": "o-2", "items": [');
      expectProblem(malformed, 400, '/problems/invalid-json');
      const huge = {
        ...order('o-2'),
        items: Array.from({ length: 40 }, (_, i) => ({
          ...line,
          productId: `p-${i}`,
          name: 'x'.repeat(150),
        })),
      };
      expectProblem(await request(h.app).post('/orders').send(huge), 413, '/problems/body-too-large');
      const text = await request(h.app).post('/orders').set('content-type', 'text/plain').send('hello');
      expectProblem(text, 415);
      expect(await snapshot('o-2')).to.deep.equal(before);
    });

    it('then the command endpoints answer 4xx problem+json and the order is unchanged', async function () {
      const before = await snapshot();
      const cases: [string, unknown, number, string][] = [
        ['/orders/o-1/stock-reserved', {}, 400, '/problems/validation-failed'],
        [
          '/orders/o-1/stock-reserved',
          { reservationId: 'r-1', expectedVersion: '1' },
          400,
          '/problems/validation-failed',
        ],
        [
          '/orders/o-1/payment-authorized',
          { paymentId: 'pay-1', expectedVersion: -1 },
          400,
          '/problems/validation-failed',
        ],
        ['/orders/o-1/payment-authorized', { paymentId: 42 }, 400, '/problems/validation-failed'],
        ['/orders/o-1/confirm', { expectedVersion: 1.5 }, 400, '/problems/validation-failed'],
        ['/orders/o-1/confirm', { now: true }, 400, '/problems/validation-failed'],
        ['/orders/o-1/cancel', { reason: '' }, 400, '/problems/validation-failed'],
        ['/orders/o-1/cancel', {}, 400, '/problems/validation-failed'],
        ['/orders/o-1/cancel', { reason: 'x'.repeat(501) }, 400, '/problems/validation-failed'],
        ['/orders/bad%20id/confirm', {}, 400, '/problems/validation-failed'],
        ['/orders/nope/confirm', {}, 404, '/problems/not-found'],
        ['/orders/nope/cancel', { reason: 'x' }, 404, '/problems/not-found'],
        ['/orders/nope/stock-reserved', { reservationId: 'r-1' }, 404, '/problems/not-found'],
        ['/orders/nope/payment-authorized', { paymentId: 'p-1' }, 404, '/problems/not-found'],
      ];
      for (const [path, body, status, type] of cases) {
        expectProblem(
          await request(h.app)
            .post(path)
            .send(body as object),
          status,
          type,
        );
      }
      for (const path of ['stock-reserved', 'payment-authorized', 'confirm', 'cancel']) {
        const malformed = await request(h.app)
          .post(`/orders/o-1/${path}`)
          .set('content-type', 'application/json')
          .send('{"reason": ');
        expectProblem(malformed, 400, '/problems/invalid-json');
      }
      const oversized = await request(h.app)
        .post('/orders/o-1/cancel')
        .send({ reason: 'x'.repeat(5000) });
      expectProblem(oversized, 413, '/problems/body-too-large');
      expect(await snapshot()).to.deep.equal(before);
      expect(await snapshot('nope')).to.deep.include({ events: [], view: undefined });
    });

    it('then the query endpoints answer 4xx problem+json', async function () {
      const before = await snapshot();
      const cases: [string, number][] = [
        ['/orders?page=0', 400],
        ['/orders?limit=1000', 400],
        ['/orders?limit=abc', 400],
        ['/orders?userId=a%20b', 400],
        ['/orders/nope', 404],
        ['/orders/o-1?asOf=yesterday', 400],
        ['/orders/o-1?asOf=2026-13-45T99:00:00Z', 400],
        ['/orders/nope?asOf=2030-01-01T00:00:00Z', 404],
        ['/orders/nope/events', 404],
        ['/orders/bad%20id/events', 400],
      ];
      for (const [path, status] of cases) expectProblem(await request(h.app).get(path), status);
      expect(await snapshot()).to.deep.equal(before);
    });
  });

  describe('when the OpenAPI document is fetched', () => {
    beforeEach(async function () {
      h = await openHarness(backend);
    });

    it('then every route is there with its operationId', async function () {
      const doc = (await request(h.app).get('/openapi.json').expect(200)).body;
      const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
        (ops) => Object.values(ops).map((op) => op.operationId),
      );
      expect(ids).to.have.members([
        'placeOrder',
        'recordStockReserved',
        'recordPaymentAuthorized',
        'confirmOrder',
        'cancelOrder',
        'listOrders',
        'getOrder',
        'listOrderEvents',
        'rebuildOrderReadModel',
      ]);
    });
  });
});
