import { expect } from 'chai';
import request from 'supertest';
import type { EventEnvelope, Subscription } from '@meshmart/kit/events';
import { eachBackend, eventually } from '../../support/stores.ts';
import { paymentsFixture, type PaymentsFixture } from './payments-fixture.ts';

const PROBLEM = /^application\/problem\+json/;
const ORDER = { orderId: 'order-1', amountCents: 2500, currency: 'USD', paymentToken: 'tok_visa' };
let keys = 0;
const newKey = () => `key-${Date.now()}-${++keys}`;

eachBackend('payments API', (backend) => {
  let fx: PaymentsFixture;
  let seen: EventEnvelope[];
  let subscription: Subscription;

  beforeEach(async () => {
    fx = await paymentsFixture(backend);
    seen = [];
    subscription = await fx.bus.subscribe({
      topic: 'payments.events',
      group: 'test-observer',
      handler: (e) => {
        seen.push(e);
      },
    });
  });
  afterEach(async () => {
    await subscription.close();
    await fx.close();
  });

  const authorize = (body: object = ORDER, key = newKey()) =>
    request(fx.app).post('/payments/authorizations').set('Idempotency-Key', key).send(body);

  async function authorizedPayment(amountCents = 2500): Promise<string> {
    const res = await authorize({ ...ORDER, amountCents }).expect(201);
    return res.body.id as string;
  }

  const post = (path: string, body?: object, key = newKey()) => {
    const r = request(fx.app).post(path).set('Idempotency-Key', key);
    return body === undefined ? r : r.send(body);
  };

  const stored = async (id: string) => (await request(fx.app).get(`/payments/${id}`).expect(200)).body;

  const eventTypes = () => seen.map((e) => e.type);

  describe('when a card is authorized with tok_visa', () => {
    it('then the answer is 201 AUTHORIZED and PaymentAuthorized is published', async () => {
      const res = await authorize().expect(201);
      expect(res.body).to.include({
        orderId: 'order-1',
        amountCents: 2500,
        currency: 'USD',
        status: 'AUTHORIZED',
        capturedCents: 0,
        refundedCents: 0,
      });
      expect(res.body.id).to.be.a('string');
      expect(await stored(res.body.id)).to.deep.equal(res.body);
      await eventually(() => seen.length === 1, 'PaymentAuthorized');
      expect(seen[0]).to.deep.include({ type: 'PaymentAuthorized', source: 'payments' });
      expect(seen[0].data).to.deep.equal({
        paymentId: res.body.id,
        orderId: 'order-1',
        amountCents: 2500,
        currency: 'USD',
      });
    });
  });

  describe('when the card is tok_decline', () => {
    it('then the answer is 402 payment-declined naming the stored payment, and PaymentDeclined is published', async () => {
      const res = await authorize({ ...ORDER, paymentToken: 'tok_decline' })
        .expect(402)
        .expect('content-type', PROBLEM);
      expect(res.body).to.include({
        type: '/problems/payment-declined',
        status: 402,
        reason: 'card_declined',
      });
      expect(await stored(res.body.paymentId)).to.include({
        status: 'DECLINED',
        declineReason: 'card_declined',
      });
      await eventually(() => seen.length === 1, 'PaymentDeclined');
      expect(seen[0].type).to.equal('PaymentDeclined');
      expect(seen[0].data).to.include({ reason: 'card_declined', paymentId: res.body.paymentId });
    });
  });

  describe('when the card is tok_insufficient_funds', () => {
    it('then the answer is 402 with reason insufficient_funds', async () => {
      const res = await authorize({ ...ORDER, paymentToken: 'tok_insufficient_funds' }).expect(402);
      expect(res.body.reason).to.equal('insufficient_funds');
    });
  });

  describe('when the token is unknown', () => {
    it('then the answer is 422 invalid-payment-token and nothing is stored', async () => {
      const res = await authorize({ ...ORDER, paymentToken: 'tok_nope' })
        .expect(422)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/invalid-payment-token');
      expect(await fx.count()).to.equal(0);
    });
  });

  describe('idempotency', () => {
    it('when the same key and body come twice, then the same status and body come back and one payment is stored', async () => {
      const key = newKey();
      const first = await authorize(ORDER, key).expect(201);
      const second = await authorize(ORDER, key).expect(201);
      expect(second.body).to.deep.equal(first.body);
      expect(second.headers['idempotent-replayed']).to.equal('true');
      expect(first.headers['idempotent-replayed']).to.equal(undefined);
      expect(await fx.count()).to.equal(1);
    });

    it('when a declined request is repeated, then the same 402 problem comes back and one payment is stored', async () => {
      const key = newKey();
      const body = { ...ORDER, paymentToken: 'tok_decline' };
      const first = await authorize(body, key).expect(402);
      const second = await authorize(body, key).expect(402).expect('content-type', PROBLEM);
      expect(second.body).to.deep.equal(first.body);
      expect(await fx.count()).to.equal(1);
    });

    it('when the same key comes with a different body, then 422 idempotency-key-reused and nothing more is stored', async () => {
      const key = newKey();
      await authorize(ORDER, key).expect(201);
      const res = await authorize({ ...ORDER, amountCents: 9999 }, key)
        .expect(422)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/idempotency-key-reused');
      expect(await fx.count()).to.equal(1);
    });

    it('when the same key is used for another operation, then 422 idempotency-key-reused', async () => {
      const key = newKey();
      const res = await authorize(ORDER, key).expect(201);
      await post(`/payments/${res.body.id}/void`, undefined, key).expect(422);
      expect((await stored(res.body.id)).status).to.equal('AUTHORIZED');
    });

    it('when two identical requests arrive at once, then both get the same answer and one payment is stored', async () => {
      fx.chaos.set({ latencyMs: 50 });
      const key = newKey();
      const [a, b] = await Promise.all([authorize(ORDER, key), authorize(ORDER, key)]);
      expect(a.status).to.equal(201);
      expect(b.status).to.equal(201);
      expect(a.body).to.deep.equal(b.body);
      expect(await fx.count()).to.equal(1);
    });

    it('when a repeat cannot wait for the first request to finish, then 409 request-in-progress', async () => {
      const slow = await paymentsFixture(backend, { waitMs: 0 });
      try {
        slow.chaos.set({ latencyMs: 300 });
        const key = newKey();
        const send = () =>
          request(slow.app).post('/payments/authorizations').set('Idempotency-Key', key).send(ORDER);
        const answers = await Promise.all([send(), send()]);
        expect(answers.map((r) => r.status).sort()).to.deep.equal([201, 409]);
        const busy = answers.find((r) => r.status === 409)!;
        expect(busy.headers['content-type']).to.match(PROBLEM);
        expect(busy.body.type).to.equal('/problems/request-in-progress');
        expect(await slow.count()).to.equal(1);
      } finally {
        await slow.close();
      }
    });

    it('when a capture is repeated, then the first answer is replayed and the capture happens once', async () => {
      const id = await authorizedPayment();
      const key = newKey();
      const first = await post(`/payments/${id}/capture`, { amountCents: 1000 }, key).expect(200);
      const again = await post(`/payments/${id}/capture`, { amountCents: 1000 }, key).expect(200);
      expect(again.body).to.deep.equal(first.body);
      const p = await stored(id);
      expect(p.history).to.have.length(2);
      expect(p.capturedCents).to.equal(1000);
    });
  });

  describe('chaos', () => {
    it('when the failure rate is 1, then authorizations answer 503 provider-unavailable, nothing is stored, and the same key succeeds once the chaos stops', async () => {
      await request(fx.app).put('/chaos/failure-rate').send({ rate: 1 }).expect(200);
      const key = newKey();
      const res = await authorize(ORDER, key).expect(503).expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/provider-unavailable');
      expect(await fx.count()).to.equal(0);
      await request(fx.app)
        .delete('/chaos')
        .expect(200, { latencyMs: 0, failureRate: 0, failureStatus: 503 });
      await authorize(ORDER, key).expect(201);
      expect(await fx.count()).to.equal(1);
    });

    it('when the failure status is set, then injected failures use it', async () => {
      await request(fx.app).put('/chaos/failure-rate').send({ rate: 1, status: 502 }).expect(200);
      const res = await authorize().expect(502);
      expect(res.body.type).to.equal('/problems/provider-unavailable');
    });

    it('when a capture meets an injected failure, then 503 and the payment is unchanged', async () => {
      const id = await authorizedPayment();
      const before = await stored(id);
      fx.chaos.set({ failureRate: 1 });
      await post(`/payments/${id}/capture`, {}).expect(503);
      fx.chaos.reset();
      expect(await stored(id)).to.deep.equal(before);
    });

    it('when latency is injected, then an authorization takes at least that long', async () => {
      await request(fx.app).put('/chaos/latency').send({ ms: 60 }).expect(200);
      const started = performance.now();
      await authorize().expect(201);
      expect(performance.now() - started).to.be.at.least(60);
    });

    it('when the chaos settings are read, then they show what was set', async () => {
      await request(fx.app).put('/chaos/latency').send({ ms: 5 }).expect(200);
      await request(fx.app).put('/chaos/failure-rate').send({ rate: 0.25, status: 504 }).expect(200);
      await request(fx.app)
        .get('/chaos')
        .expect(200, { latencyMs: 5, failureRate: 0.25, failureStatus: 504 });
    });

    for (const [path, body] of [
      ['/chaos/latency', { ms: -1 }],
      ['/chaos/latency', { ms: 1e9 }],
      ['/chaos/latency', { ms: 'slow' }],
      ['/chaos/failure-rate', { rate: 2 }],
      ['/chaos/failure-rate', { rate: -0.1 }],
      ['/chaos/failure-rate', { rate: 0.5, status: 418 }],
      ['/chaos/failure-rate', {}],
    ] as const) {
      it(`when PUT ${path} gets ${JSON.stringify(body)}, then 400 and the settings are unchanged`, async () => {
        await request(fx.app).put(path).send(body).expect(400).expect('content-type', PROBLEM);
        await request(fx.app).get('/chaos').expect(200, { latencyMs: 0, failureRate: 0, failureStatus: 503 });
      });
    }
  });

  describe('transitions', () => {
    it('when an authorization is captured in full, then CAPTURED and PaymentCaptured is published', async () => {
      const id = await authorizedPayment();
      const res = await post(`/payments/${id}/capture`, {}).expect(200);
      expect(res.body).to.include({ status: 'CAPTURED', capturedCents: 2500 });
      await eventually(() => eventTypes().includes('PaymentCaptured'), 'PaymentCaptured');
    });

    it('when a capture and a refund come without any body, then they take the whole amount', async () => {
      const id = await authorizedPayment();
      await post(`/payments/${id}/capture`)
        .expect(200)
        .expect((r) => expect(r.body.capturedCents).to.equal(2500));
      await post(`/payments/${id}/refunds`)
        .expect(200)
        .expect((r) => expect(r.body.status).to.equal('REFUNDED'));
    });

    it('when more than authorized is captured, then 409 and the payment is unchanged', async () => {
      const id = await authorizedPayment();
      const before = await stored(id);
      const res = await post(`/payments/${id}/capture`, { amountCents: 2501 }).expect(409);
      expect(res.body.type).to.equal('/problems/amount-exceeds-authorized');
      expect(await stored(id)).to.deep.equal(before);
    });

    it('when an authorization is voided, then VOIDED, PaymentVoided, and capture or refund is 409 invalid-transition', async () => {
      const id = await authorizedPayment();
      await post(`/payments/${id}/void`)
        .expect(200)
        .expect((r) => expect(r.body.status).to.equal('VOIDED'));
      const capture = await post(`/payments/${id}/capture`, {}).expect(409);
      expect(capture.body).to.include({ type: '/problems/invalid-transition', status: 409 });
      await post(`/payments/${id}/refunds`, {}).expect(409);
      await post(`/payments/${id}/void`).expect(409);
      await eventually(() => eventTypes().includes('PaymentVoided'), 'PaymentVoided');
      expect((await stored(id)).status).to.equal('VOIDED');
    });

    it('when a captured payment is refunded in parts, then PARTIALLY_REFUNDED, then REFUNDED, then 409', async () => {
      const id = await authorizedPayment();
      await post(`/payments/${id}/capture`, { amountCents: 2000 }).expect(200);
      const part = await post(`/payments/${id}/refunds`, { amountCents: 500 }).expect(200);
      expect(part.body).to.include({ status: 'PARTIALLY_REFUNDED', refundedCents: 500 });
      const over = await post(`/payments/${id}/refunds`, { amountCents: 1501 }).expect(409);
      expect(over.body.type).to.equal('/problems/amount-exceeds-captured');
      const rest = await post(`/payments/${id}/refunds`, {}).expect(200);
      expect(rest.body).to.include({ status: 'REFUNDED', refundedCents: 2000 });
      await post(`/payments/${id}/refunds`, { amountCents: 1 }).expect(409);
      await eventually(() => eventTypes().filter((t) => t === 'PaymentRefunded').length === 2, 'refunds');
      expect(
        seen
          .filter((e) => e.type === 'PaymentRefunded')
          .map((e) => (e.data as { amountCents: number }).amountCents),
      ).to.deep.equal([500, 1500]);
    });

    it('when a captured payment is voided or an authorized one refunded, then 409 invalid-transition', async () => {
      const a = await authorizedPayment();
      await post(`/payments/${a}/refunds`, {}).expect(409);
      await post(`/payments/${a}/capture`, {}).expect(200);
      await post(`/payments/${a}/void`).expect(409);
      await post(`/payments/${a}/capture`, {}).expect(409);
      expect((await stored(a)).status).to.equal('CAPTURED');
    });

    it('when captures with different keys race, then exactly one wins and the others are 409', async () => {
      const id = await authorizedPayment();
      const answers = await Promise.all(Array.from({ length: 5 }, () => post(`/payments/${id}/capture`, {})));
      expect(answers.map((r) => r.status).sort()).to.deep.equal([200, 409, 409, 409, 409]);
      const p = await stored(id);
      expect(p).to.include({ status: 'CAPTURED', capturedCents: 2500 });
      expect(p.history).to.have.length(2);
    });

    it('when partial refunds race while events are relayed, then every one is applied exactly once', async () => {
      const id = await authorizedPayment(2000);
      await post(`/payments/${id}/capture`, {}).expect(200);
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => post(`/payments/${id}/refunds`, { amountCents: 500 })),
      );
      expect(answers.map((r) => r.status)).to.deep.equal([200, 200, 200, 200]);
      const p = await stored(id);
      expect(p).to.include({ status: 'REFUNDED', refundedCents: 2000 });
      expect(p.history).to.have.length(6);
      await eventually(
        () => eventTypes().filter((t) => t === 'PaymentRefunded').length === 4,
        'four refunds',
      );
    });

    it('when the payment does not exist, then every operation is 404 problem+json', async () => {
      for (const op of ['capture', 'void', 'refunds']) {
        await post(`/payments/pay_missing/${op}`, op === 'void' ? undefined : {})
          .expect(404)
          .expect('content-type', PROBLEM);
      }
      await request(fx.app).get('/payments/pay_missing').expect(404).expect('content-type', PROBLEM);
    });
  });

  describe('queries', () => {
    it("when an order's payments are listed, then only that order's come back, oldest first", async () => {
      const a = await authorizedPayment();
      const b = (await authorize({ ...ORDER, paymentToken: 'tok_decline' })).body.paymentId;
      await authorize({ ...ORDER, orderId: 'order-2' }).expect(201);
      const res = await request(fx.app).get('/payments?orderId=order-1').expect(200);
      expect(res.body.items.map((p: { id: string }) => p.id)).to.have.members([a, b]);
      expect(res.body.items).to.have.length(2);
    });

    it('when the metrics are scraped, then payments_total counts operations by outcome', async () => {
      await authorizedPayment();
      await authorize({ ...ORDER, paymentToken: 'tok_decline' });
      const text = (await request(fx.app).get('/metrics').expect(200)).text;
      expect(text).to.match(/payments_total\{[^}]*operation="authorize",outcome="succeeded"[^}]*\} 1/);
      expect(text).to.match(/payments_total\{[^}]*operation="authorize",outcome="declined"[^}]*\} 1/);
    });

    it('when the OpenAPI document is read, then every operation has an operationId', async () => {
      const doc = (await request(fx.app).get('/openapi.json').expect(200)).body;
      const ops = Object.values(
        doc.paths as Record<string, Record<string, { operationId?: string }>>,
      ).flatMap((p) => Object.values(p));
      expect(ops.map((o) => o.operationId)).to.include.members([
        'authorizePayment',
        'capturePayment',
        'voidPayment',
        'refundPayment',
        'getPayment',
        'listPaymentsOfOrder',
        'getChaos',
        'setChaosLatency',
        'setChaosFailureRate',
        'resetChaos',
      ]);
    });
  });

  describe('bad input', () => {
    const badAuthorizations: [string, object][] = [
      ['a missing orderId', { ...ORDER, orderId: undefined }],
      ['a string amount', { ...ORDER, amountCents: '25' }],
      ['a negative amount', { ...ORDER, amountCents: -1 }],
      ['a zero amount', { ...ORDER, amountCents: 0 }],
      ['a fractional amount', { ...ORDER, amountCents: 1.5 }],
      ['a huge amount', { ...ORDER, amountCents: 1e15 }],
      ['another currency', { ...ORDER, currency: 'EUR' }],
      ['an unknown field', { ...ORDER, admin: true }],
      ['an id with spaces', { ...ORDER, orderId: 'a b' }],
      ['an empty token', { ...ORDER, paymentToken: '' }],
    ];
    for (const [what, body] of badAuthorizations) {
      it(`when an authorization has ${what}, then 400 problem+json and nothing is stored`, async () => {
        await authorize(body).expect(400).expect('content-type', PROBLEM);
        expect(await fx.count()).to.equal(0);
      });
    }

    it('when the Idempotency-Key is missing, then 400 naming the header and nothing is stored', async () => {
      const res = await request(fx.app)
        .post('/payments/authorizations')
        .send(ORDER)
        .expect(400)
        .expect('content-type', PROBLEM);
      expect(res.body.errors).to.deep.include({ field: 'header/idempotency-key', message: 'is required' });
      expect(await fx.count()).to.equal(0);
    });

    it('when the Idempotency-Key is too long, then 400 and nothing is stored', async () => {
      await authorize(ORDER, 'k'.repeat(256)).expect(400).expect('content-type', PROBLEM);
      expect(await fx.count()).to.equal(0);
    });

    it('when the body is malformed JSON, then 400 invalid-json and nothing is stored', async () => {
      const res = await request(fx.app)
        .post('/payments/authorizations')
        .set('Idempotency-Key', newKey())
        .set('content-type', 'application/json')
        .send('{"orderId": ')
        .expect(400)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/invalid-json');
      expect(await fx.count()).to.equal(0);
    });

    it('when the body is too large, then 413 and nothing is stored', async () => {
      await authorize({ ...ORDER, paymentToken: 'x'.repeat(10_000) })
        .expect(413)
        .expect('content-type', PROBLEM);
      expect(await fx.count()).to.equal(0);
    });

    it('when the body is not JSON, then 415 and nothing is stored', async () => {
      await request(fx.app)
        .post('/payments/authorizations')
        .set('Idempotency-Key', newKey())
        .set('content-type', 'text/plain')
        .send('hello')
        .expect(415)
        .expect('content-type', PROBLEM);
      expect(await fx.count()).to.equal(0);
    });

    const badAmounts: [string, object][] = [
      ['a negative amount', { amountCents: -5 }],
      ['a zero amount', { amountCents: 0 }],
      ['a string amount', { amountCents: '10' }],
      ['a huge amount', { amountCents: 1e12 }],
      ['an unknown field', { cents: 10 }],
    ];
    for (const op of ['capture', 'refunds'] as const) {
      for (const [what, body] of badAmounts) {
        it(`when a ${op === 'refunds' ? 'refund' : op} has ${what}, then 400 and the payment is unchanged`, async () => {
          const id = await authorizedPayment();
          if (op === 'refunds') await post(`/payments/${id}/capture`, {}).expect(200);
          const before = await stored(id);
          await post(`/payments/${id}/${op}`, body).expect(400).expect('content-type', PROBLEM);
          expect(await stored(id)).to.deep.equal(before);
        });
      }
      it(`when a ${op === 'refunds' ? 'refund' : op} has no Idempotency-Key, then 400 and the payment is unchanged`, async () => {
        const id = await authorizedPayment();
        const before = await stored(id);
        await request(fx.app)
          .post(`/payments/${id}/${op}`)
          .send({})
          .expect(400)
          .expect('content-type', PROBLEM);
        expect(await stored(id)).to.deep.equal(before);
      });
    }

    it('when a void has no Idempotency-Key, then 400 and the payment is unchanged', async () => {
      const id = await authorizedPayment();
      await request(fx.app).post(`/payments/${id}/void`).expect(400).expect('content-type', PROBLEM);
      expect((await stored(id)).status).to.equal('AUTHORIZED');
    });

    it('when a payment id is not a valid id, then 400 on every endpoint', async () => {
      const bad = encodeURIComponent('bad id!');
      await post(`/payments/${bad}/capture`, {}).expect(400).expect('content-type', PROBLEM);
      await post(`/payments/${bad}/void`).expect(400).expect('content-type', PROBLEM);
      await post(`/payments/${bad}/refunds`, {}).expect(400).expect('content-type', PROBLEM);
      await request(fx.app).get(`/payments/${bad}`).expect(400).expect('content-type', PROBLEM);
    });

    it('when payments are listed without an orderId, then 400', async () => {
      await request(fx.app).get('/payments').expect(400).expect('content-type', PROBLEM);
    });
  });
});
