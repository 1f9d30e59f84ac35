import { expect } from 'chai';
import request from 'supertest';
import { checkoutApi } from '@meshmart/contracts';
import type { InMemoryParticipants } from '../../../services/checkout/src/adapters/in-memory-participants.ts';
import { eachBackend } from '../../support/stores.ts';
import {
  checkoutOn,
  outboxTypes,
  sagaStore,
  seededParticipants,
  type Checkout,
  type Repo,
} from './harness.ts';

const PROBLEM = /^application\/problem\+json/;

eachBackend('checkout API', (backend) => {
  let repository: Repo;
  let closeStore: () => Promise<void>;
  let p: InMemoryParticipants;
  let c: Checkout;

  beforeEach(async () => {
    ({ repository, close: closeStore } = await sagaStore(backend));
    p = seededParticipants();
    c = await checkoutOn(repository, p);
  });
  afterEach(async () => {
    await c.close();
    await closeStore();
  });

  const post = (body: unknown, key: string | null = 'key-1') => {
    const req = request(c.app).post('/checkouts');
    if (key !== null) req.set('Idempotency-Key', key);
    return req.send(body as object);
  };

  /** The saga runs in this process: wait for the engine, then read it through the API. */
  async function finished(sagaId: string) {
    await c.core.engine.idle();
    return (await request(c.app).get(`/checkouts/${sagaId}`).expect(200)).body;
  }

  /** What a bad request must leave unchanged. */
  async function nothingStored(): Promise<void> {
    expect(await repository.list({ limit: 10 })).to.have.length(0);
    expect(await outboxTypes(repository)).to.have.length(0);
    expect(p.count('orders.place')).to.equal(0);
  }

  describe('when a checkout is posted for a filled cart', () => {
    it('then the answer is 202 PENDING at once and the saga completes in the background', async () => {
      const res = await post({ userId: 'alice', paymentToken: 'tok_visa' }).expect(202);
      expect(res.body).to.include({ status: 'PENDING', sagaStatus: 'RUNNING' });
      expect(res.body.sagaId).to.be.a('string');
      expect(res.headers.location).to.equal(`/checkouts/${res.body.sagaId}`);

      const saga = await finished(res.body.sagaId);
      expect(saga).to.include({
        status: 'COMPLETED',
        checkoutStatus: 'CONFIRMED',
        orderId: res.body.orderId,
      });
      expect(saga.totalCents).to.equal(5500);
      expect(saga.paymentToken).to.equal(undefined);
      expect(saga.steps.map((s: any) => s.status)).to.deep.equal([
        'SUCCEEDED',
        'SUCCEEDED',
        'SUCCEEDED',
        'SUCCEEDED',
        'SUCCEEDED',
        'SUCCEEDED',
        'SUCCEEDED',
      ]);
      const same = await request(c.app).get(`/sagas/${res.body.sagaId}`).expect(200);
      expect(same.body.sagaId).to.equal(res.body.sagaId);
      expect(p.orderStore.get(res.body.orderId)?.status).to.equal('CONFIRMED');
    });

    it('then the same Idempotency-Key again names the same saga and order, and one saga exists', async () => {
      const first = await post({ userId: 'alice', paymentToken: 'tok_visa' }, 'same').expect(202);
      const second = await post({ userId: 'alice', paymentToken: 'tok_visa' }, 'same').expect(202);
      expect(second.body.orderId).to.equal(first.body.orderId);
      expect(second.headers['idempotent-replayed']).to.equal('true');
      await finished(first.body.sagaId);
      // The cart is cleared by now; the key still answers with the same order.
      const third = await post({ userId: 'alice', paymentToken: 'tok_visa' }, 'same').expect(202);
      expect(third.body).to.include({ orderId: first.body.orderId, status: 'CONFIRMED' });
      expect(await repository.list({ limit: 10 })).to.have.length(1);
      expect(p.orderStore.size).to.equal(1);
    });

    it('then the longest key the gateway forwards (a 128-character user id, a colon, a 128-character key) is taken', async () => {
      const res = await post(
        { userId: 'alice', paymentToken: 'tok_visa' },
        `${'u'.repeat(128)}:${'k'.repeat(128)}`,
      ).expect(202);
      await finished(res.body.sagaId);
    });

    it('then a declined card shows as CANCELLED with the reason, and GET /sagas?status= finds it', async () => {
      const res = await post({ userId: 'alice', paymentToken: 'tok_decline' }).expect(202);
      const saga = await finished(res.body.sagaId);
      expect(saga).to.include({
        status: 'COMPENSATED',
        checkoutStatus: 'CANCELLED',
        reason: 'payment declined: card_declined',
      });
      const listed = await request(c.app).get('/sagas?status=COMPENSATED&limit=5').expect(200);
      expect(listed.body.items.map((s: any) => s.sagaId)).to.deep.equal([res.body.sagaId]);
      const none = await request(c.app).get('/sagas?status=FAILED').expect(200);
      expect(none.body.items).to.have.length(0);
    });
  });

  describe('when the cart is empty', () => {
    it('then the answer is 409 cart-empty and no saga is created', async () => {
      const res = await post({ userId: 'bob', paymentToken: 'tok_visa' })
        .expect(409)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/cart-empty');
      await nothingStored();
    });
  });

  describe('when the checkout could only fail later', () => {
    const line = (productId: string, unitPriceCents: number, quantity = 1) => ({
      productId,
      name: productId,
      unitPriceCents,
      quantity,
    });

    it('then a product priced 0 is 422 invalid-price naming it, and no saga is created', async () => {
      p.setCart('alice', [line('p1', 1000), line('free', 0, 2)]);
      const res = await post({ userId: 'alice', paymentToken: 'tok_visa' })
        .expect(422)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/invalid-price');
      expect(res.body.products).to.deep.equal(['free']);
      expect(res.body.detail).to.contain('free');
      await nothingStored();
    });

    it('then a cart total over the payment limit is 422 amount-over-limit naming the limit, and no saga is created', async () => {
      p.setCart('alice', [line('p1', 10_000_000, 10), line('p2', 1)]);
      const res = await post({ userId: 'alice', paymentToken: 'tok_visa' })
        .expect(422)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/amount-over-limit');
      expect(res.body).to.include({ totalCents: 100_000_001, limitCents: 100_000_000 });
      expect(res.body.detail).to.contain('1000000.00');
      await nothingStored();
    });

    it('then a total exactly at the payment limit is accepted', async () => {
      p.setCart('alice', [line('p1', 10_000_000, 10)]);
      p.setStock('p1', 10);
      await post({ userId: 'alice', paymentToken: 'tok_visa' }).expect(202);
    });

    it('then a product the catalog no longer has is 409 product-unavailable naming it, and no saga is created', async () => {
      p.setCart('alice', [line('p1', 1000), line('gone', 500)], ['gone']);
      const res = await post({ userId: 'alice', paymentToken: 'tok_visa' })
        .expect(409)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/product-unavailable');
      expect(res.body.products).to.deep.equal(['gone']);
      await nothingStored();
    });

    it('then a stated total the cart no longer has is 409 price-changed with both totals; the right one is accepted', async () => {
      p.setCart('alice', [line('p1', 100_000, 1)]);
      p.setStock('p1', 10);
      const res = await post({ userId: 'alice', paymentToken: 'tok_visa', expectedTotalCents: 1000 })
        .expect(409)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/price-changed');
      expect(res.body).to.include({ expectedTotalCents: 1000, totalCents: 100_000 });
      await nothingStored();
      const ok = await post({
        userId: 'alice',
        paymentToken: 'tok_visa',
        expectedTotalCents: 100_000,
      }).expect(202);
      expect((await finished(ok.body.sagaId)).totalCents).to.equal(100_000);
    });
  });

  describe('when the cart cannot be read', () => {
    it('then the answer is 503 and no saga is created', async () => {
      p.failNext('cart.get', 1);
      const res = await post({ userId: 'alice', paymentToken: 'tok_visa' })
        .expect(503)
        .expect('content-type', PROBLEM);
      expect(res.body.detail).to.contain('cart');
      await nothingStored();
    });
  });

  describe('when the replica already drives SAGA_MAX_IN_FLIGHT checkouts', () => {
    it('then a new checkout is 429 checkout-busy with Retry-After and stores nothing, a repeat of a started one is still answered, and once one ends a new one is taken', async () => {
      await c.close();
      c = await checkoutOn(repository, p, { maxInFlight: 2 });
      p.setCart('bob', [{ productId: 'p1', name: 'Lamp', unitPriceCents: 1500, quantity: 1 }]);
      p.setCart('carol', [{ productId: 'p2', name: 'Mug', unitPriceCents: 2500, quantity: 1 }]);
      const release = p.holdAt('inventory.reserve');
      const first = await post({ userId: 'alice', paymentToken: 'tok_visa' }, 'busy-1').expect(202);
      await post({ userId: 'bob', paymentToken: 'tok_visa' }, 'busy-2').expect(202);
      expect(c.core.engine.inFlight).to.equal(2);

      const refused = await post({ userId: 'carol', paymentToken: 'tok_visa' }, 'busy-3')
        .expect(429)
        .expect('content-type', PROBLEM)
        .expect('retry-after', '1');
      expect(refused.body.type).to.equal('/problems/checkout-busy');
      expect(refused.body.detail).to.contain('SAGA_MAX_IN_FLIGHT');
      expect(await repository.list({ limit: 10 })).to.have.length(2);
      expect(p.carts.get('carol')).to.have.length(1);

      const repeat = await post({ userId: 'alice', paymentToken: 'tok_visa' }, 'busy-1').expect(202);
      expect(repeat.body.sagaId).to.equal(first.body.sagaId);

      release();
      await c.core.engine.idle();
      const taken = await post({ userId: 'carol', paymentToken: 'tok_visa' }, 'busy-3').expect(202);
      expect((await finished(taken.body.sagaId)).checkoutStatus).to.equal('CONFIRMED');
      expect((await finished(first.body.sagaId)).checkoutStatus).to.equal('CONFIRMED');
    });
  });

  describe('when the request is not valid', () => {
    it('then a missing Idempotency-Key is 400 naming the header', async () => {
      const res = await post({ userId: 'alice', paymentToken: 'tok_visa' }, null)
        .expect(400)
        .expect('content-type', PROBLEM);
      expect(res.body.errors.map((e: any) => e.field)).to.include('header/idempotency-key');
      await nothingStored();
    });

    it('then an over-long Idempotency-Key is 400', async () => {
      await post({ userId: 'alice', paymentToken: 'tok_visa' }, 'k'.repeat(258))
        .expect(400)
        .expect('content-type', PROBLEM);
      await nothingStored();
    });

    it('then malformed JSON is 400 invalid-json', async () => {
      const res = await request(c.app)
        .post('/checkouts')
        .set('Idempotency-Key', 'k')
        .set('content-type', 'application/json')
        .send('{"userId": "alice", ')
        .expect(400)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/invalid-json');
      await nothingStored();
    });

    it('then wrong types, missing and unknown fields are 400 listing each field', async () => {
      const res = await post({ userId: 42, extra: true }).expect(400).expect('content-type', PROBLEM);
      const fields = res.body.errors.map((e: any) => e.field);
      expect(fields).to.include.members(['body/userId', 'body/paymentToken']);
      await nothingStored();
    });

    it('then an oversized body is 413', async () => {
      await post({ userId: 'alice', paymentToken: 'x'.repeat(200_000) })
        .expect(413)
        .expect('content-type', PROBLEM);
      await nothingStored();
    });

    it('then a non-JSON body is 415', async () => {
      await request(c.app)
        .post('/checkouts')
        .set('Idempotency-Key', 'k')
        .set('content-type', 'text/plain')
        .send('userId=alice')
        .expect(415)
        .expect('content-type', PROBLEM);
      await nothingStored();
    });

    it('then reusing a key for another user is 422 and the first saga is untouched', async () => {
      const first = await post({ userId: 'alice', paymentToken: 'tok_visa' }, 'shared').expect(202);
      await finished(first.body.sagaId);
      const before = await repository.get(first.body.sagaId);
      const res = await post({ userId: 'mallory', paymentToken: 'tok_visa' }, 'shared')
        .expect(422)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/idempotency-key-reused');
      expect(await repository.get(first.body.sagaId)).to.deep.equal(before);
      expect(await repository.list({ limit: 10 })).to.have.length(1);
    });

    it('then an unknown saga id is 404 on both read routes', async () => {
      for (const path of ['/checkouts/nope', '/sagas/nope']) {
        const res = await request(c.app).get(path).expect(404).expect('content-type', PROBLEM);
        expect(res.body.detail).to.contain('nope');
      }
    });

    it('then a malformed saga id, an unknown status, a huge limit or an unknown parameter is 400', async () => {
      await request(c.app).get('/sagas/bad%20id').expect(400).expect('content-type', PROBLEM);
      await request(c.app).get('/sagas?state=FAILED').expect(400).expect('content-type', PROBLEM);
      await request(c.app).get('/sagas?status=DONE').expect(400).expect('content-type', PROBLEM);
      await request(c.app).get('/sagas?limit=100000').expect(400).expect('content-type', PROBLEM);
      await request(c.app).get('/sagas?limit=-1').expect(400).expect('content-type', PROBLEM);
    });
  });

  describe('when the OpenAPI document is read', () => {
    it('then every route has its operationId', async () => {
      const doc = (await request(c.app).get('/openapi.json').expect(200)).body;
      expect(doc.paths['/checkouts'].post.operationId).to.equal('startCheckout');
      expect(doc.paths['/checkouts/{sagaId}'].get.operationId).to.equal('getCheckout');
      expect(doc.paths['/sagas/{sagaId}'].get.operationId).to.equal('getSaga');
      expect(doc.paths['/sagas'].get.operationId).to.equal('listSagas');
    });

    it("then GET /sagas offers the saga statuses of the checkout contract, which the gateway's admin route shares", async () => {
      const doc = (await request(c.app).get('/openapi.json').expect(200)).body;
      const status = doc.paths['/sagas'].get.parameters.find((p: { name: string }) => p.name === 'status');
      const offered = (status.schema.anyOf as { const: string }[]).map((s) => s.const);
      expect(offered).to.deep.equal([...checkoutApi.SAGA_STATUSES]);
      expect(offered).to.include.members(['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED']);
    });
  });
});
