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
