import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { expect } from 'chai';
import { HttpParticipants } from '../../../../services/checkout/src/adapters/http-participants.ts';
import { InMemoryParticipants } from '../../../../services/checkout/src/adapters/in-memory-participants.ts';
import { ParticipantError } from '../../../../services/checkout/src/adapters/participants.ts';
import { fakeUpstreams, type FakeUpstreams } from './fake-upstreams.ts';
import { participantsContract } from './participants.contract.ts';

function adapter(url: string): HttpParticipants {
  return new HttpParticipants({
    ordersUrl: url,
    inventoryUrl: url,
    paymentsUrl: url,
    cartUrl: url,
    timeoutMs: 2000,
  });
}

participantsContract('in-memory twin', () => {
  const sim = new InMemoryParticipants();
  return Promise.resolve({ participants: sim, sim, close: () => Promise.resolve() });
});

participantsContract('HTTP adapter against the internal APIs', async () => {
  const upstreams = await fakeUpstreams();
  const participants = adapter(upstreams.url);
  return {
    participants,
    sim: upstreams.sim,
    close: async () => {
      await participants.close();
      await upstreams.close();
    },
  };
});

describe('HTTP participants', () => {
  let upstreams: FakeUpstreams;
  let http: HttpParticipants;
  beforeEach(async () => {
    upstreams = await fakeUpstreams();
    http = adapter(upstreams.url);
  });
  afterEach(async () => {
    await http.close();
    await upstreams.close();
  });

  it('when a payment call is made, then it carries the saga’s Idempotency-Key and trace context', async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    try {
      const span = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
      });
      const ctx = trace.setSpan(context.active(), span);
      await http.payments.authorize(
        { orderId: 'o', amountCents: 100, currency: 'USD', paymentToken: 'tok_visa' },
        { idempotencyKey: 'saga-1:authorizePayment:payments.authorize', context: ctx },
      );
    } finally {
      propagation.disable();
    }
    const call = upstreams.seen.find((s) => s.path === '/payments/authorizations')!;
    expect(call.headers['idempotency-key']).to.equal('saga-1:authorizePayment:payments.authorize');
    expect(String(call.headers.traceparent)).to.contain('0af7651916cd43dd8448eb211c80319c');
  });

  it('when an upstream is unreachable, then the failure is transient', async () => {
    await upstreams.close();
    const dead = adapter('http://127.0.0.1:9');
    try {
      const err = await dead.orders.confirm({ orderId: 'o' }, { idempotencyKey: 'k' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ParticipantError);
      expect((err as ParticipantError).kind).to.equal('transient');
    } finally {
      await dead.close();
      upstreams = await fakeUpstreams();
    }
  });

  it('when a participant answers that the same request is still in progress, then the failure is transient, not a refusal', async () => {
    // The chaos run's bug: payments killed mid-capture keeps the capture's Idempotency-Key for its lease; the retry's
    // 409 request-in-progress was taken for a refusal, after the pivot: a CONFIRMED order left uncaptured.
    const answers: Record<string, [number, string, Record<string, string>]> = {
      '/payments/p1/capture': [409, 'request-in-progress', { 'retry-after': '1' }],
      '/reservations/r1/release': [409, 'reservation-pending', {}],
      '/reservations/r2/release': [409, 'reservation-committed', {}],
    };
    const server = createServer((req, res) => {
      const [status, code, headers] = answers[req.url ?? ''];
      res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
      res.end(JSON.stringify({ type: `/problems/${code}`, status, detail: code }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const busy = adapter(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as ParticipantError,
      );
    try {
      const capture = await failure(busy.payments.capture({ paymentId: 'p1' }, { idempotencyKey: 'k' }));
      expect(capture).to.include({ kind: 'transient', code: 'request-in-progress' });
      const pending = await failure(busy.inventory.release({ reservationId: 'r1' }, { idempotencyKey: 'k' }));
      expect(pending).to.include({ kind: 'transient', code: 'reservation-pending' });
      const committed = await failure(
        busy.inventory.release({ reservationId: 'r2' }, { idempotencyKey: 'k' }),
      );
      expect(committed).to.include({ kind: 'business', code: 'reservation-committed' });
    } finally {
      await busy.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('when a capture is refused because the payment is already CAPTURED, then the capture succeeded; refused on a VOIDED one, it failed', async () => {
    // The chaos run's bug: payments killed after capturing and before keeping the Idempotency-Key's answer ran the
    // saga's retry again once the key's lease ran out; the payment, CAPTURED, refused it (409 invalid-transition) and
    // the saga ended FAILED with the money taken and the order CONFIRMED.
    const status: Record<string, string> = { p1: 'CAPTURED', p2: 'VOIDED' };
    const server = createServer((req, res) => {
      const [, , id, action] = (req.url ?? '').split('/');
      res.writeHead(action === 'capture' ? 409 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          action === 'capture'
            ? { type: '/problems/invalid-transition', status: 409, detail: `cannot capture a ${status[id]}` }
            : { id, status: status[id] },
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const payments = adapter(`http://127.0.0.1:${(server.address() as AddressInfo).port}`).payments;
    try {
      expect(await payments.capture({ paymentId: 'p1' }, { idempotencyKey: 'k' })).to.deep.equal({
        id: 'p1',
        status: 'CAPTURED',
      });
      const err = await payments.capture({ paymentId: 'p2' }, { idempotencyKey: 'k' }).then(
        () => undefined,
        (e: unknown) => e as ParticipantError,
      );
      expect(err).to.include({ kind: 'business', code: 'invalid-transition' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('when an out-of-stock answer lists products as objects, then the reason names their ids', async () => {
    upstreams.sim.setStock('p1', 0);
    const err = await http.inventory
      .reserve(
        { reservationId: 'r', orderId: 'o', items: [{ productId: 'p1', quantity: 1 }] },
        { idempotencyKey: 'k' },
      )
      .then(
        () => undefined,
        (e: unknown) => e as ParticipantError,
      );
    expect(err?.message).to.equal('out of stock: p1');
    expect(err?.status).to.equal(409);
  });
});
