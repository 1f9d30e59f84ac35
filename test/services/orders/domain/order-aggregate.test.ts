import { expect } from 'chai';
import { AppError } from '@meshmart/kit';
import {
  decide,
  evolve,
  fold,
  type OrderCommand,
  type OrderEvent,
  type OrderView,
} from '../../../../services/orders/src/domain/order-aggregate.ts';

const T0 = '2026-01-01T10:00:00.000Z';
const T1 = '2026-01-01T10:01:00.000Z';
const place: OrderCommand = {
  kind: 'place',
  orderId: 'o-1',
  userId: 'alice',
  currency: 'USD',
  items: [
    { productId: 'p-1', name: 'Lamp', unitPriceCents: 1250, quantity: 2 },
    { productId: 'p-2', name: 'Mug', unitPriceCents: 399, quantity: 3 },
  ],
};

function run(commands: OrderCommand[]): { state: OrderView | undefined; events: OrderEvent[] } {
  let state: OrderView | undefined;
  const events: OrderEvent[] = [];
  for (const c of commands) {
    for (const e of decide(c, state, T1)) {
      events.push(e);
      state = evolve(state, e);
    }
  }
  return { state, events };
}

function rejects(fn: () => unknown, status: number, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).status).to.equal(status);
    expect((err as AppError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${status} ${code}`);
}

describe('OrderAggregate (pure)', () => {
  it('when an order is placed, then OrderPlaced carries the lines, the computed total and version 1', () => {
    const [event] = decide(place, undefined, T0);
    expect(event.type).to.equal('OrderPlaced');
    expect(event.occurredAt).to.equal(T0);
    expect(event.data).to.deep.include({
      orderId: 'o-1',
      userId: 'alice',
      orderVersion: 1,
      totalCents: 3697,
    });
    const state = evolve(undefined, event);
    expect(state).to.deep.include({
      id: 'o-1',
      status: 'PENDING',
      version: 1,
      totalCents: 3697,
      createdAt: T0,
    });
    expect(state.history).to.have.length(1);
  });

  it('when the full lifecycle runs, then the order is CONFIRMED at version 4 with reservation and payment', () => {
    const { state, events } = run([
      place,
      { kind: 'reserve-stock', reservationId: 'r-1' },
      { kind: 'authorize-payment', paymentId: 'pay-1' },
      { kind: 'confirm' },
    ]);
    expect(events.map((e) => e.type)).to.deep.equal([
      'OrderPlaced',
      'OrderStockReserved',
      'OrderPaymentAuthorized',
      'OrderConfirmed',
    ]);
    expect(events.map((e) => e.data.orderVersion)).to.deep.equal([1, 2, 3, 4]);
    expect(state).to.deep.include({
      status: 'CONFIRMED',
      version: 4,
      reservationId: 'r-1',
      paymentId: 'pay-1',
    });
    expect(state!.history.map((h) => h.version)).to.deep.equal([1, 2, 3, 4]);
  });

  it('when a command repeats what is done, then it decides no event', () => {
    const { state } = run([place, { kind: 'reserve-stock', reservationId: 'r-1' }, { kind: 'confirm' }]);
    expect(decide(place, state, T1)).to.deep.equal([]);
    expect(decide({ kind: 'reserve-stock', reservationId: 'r-1' }, state, T1)).to.deep.equal([]);
    expect(decide({ kind: 'confirm' }, state, T1)).to.deep.equal([]);
    const cancelled = run([place, { kind: 'cancel', reason: 'out of stock' }]).state;
    expect(decide({ kind: 'cancel', reason: 'out of stock' }, cancelled, T1)).to.deep.equal([]);
  });

  it('when the same order id is placed with other content, then it is a 409 order-exists', () => {
    const { state } = run([place]);
    rejects(() => decide({ ...place, userId: 'bob' }, state, T1), 409, 'order-exists');
    rejects(
      () => decide({ ...place, items: [{ ...place.items[0], quantity: 9 }] }, state, T1),
      409,
      'order-exists',
    );
  });

  it('when a confirmed order is cancelled, then it is a 409 invalid-transition', () => {
    const { state } = run([place, { kind: 'confirm' }]);
    rejects(() => decide({ kind: 'cancel', reason: 'changed mind' }, state, T1), 409, 'invalid-transition');
  });

  it('when a cancelled order is confirmed or cancelled for another reason, then it is a 409 invalid-transition', () => {
    const { state } = run([place, { kind: 'cancel', reason: 'payment declined' }]);
    expect(state).to.deep.include({ status: 'CANCELLED', reason: 'payment declined' });
    rejects(() => decide({ kind: 'confirm' }, state, T1), 409, 'invalid-transition');
    rejects(() => decide({ kind: 'cancel', reason: 'other' }, state, T1), 409, 'invalid-transition');
    rejects(
      () => decide({ kind: 'reserve-stock', reservationId: 'r-9' }, state, T1),
      409,
      'invalid-transition',
    );
  });

  it('when a second, different reservation or payment is recorded, then it is a 409 invalid-transition', () => {
    const { state } = run([
      place,
      { kind: 'reserve-stock', reservationId: 'r-1' },
      { kind: 'authorize-payment', paymentId: 'p-1' },
    ]);
    rejects(
      () => decide({ kind: 'reserve-stock', reservationId: 'r-2' }, state, T1),
      409,
      'invalid-transition',
    );
    rejects(
      () => decide({ kind: 'authorize-payment', paymentId: 'p-2' }, state, T1),
      409,
      'invalid-transition',
    );
  });

  it('when a command targets an order that does not exist, then it is a 404', () => {
    rejects(() => decide({ kind: 'confirm' }, undefined, T1), 404, 'not-found');
  });

  it('when events are folded out of sequence, then evolve refuses them', () => {
    const { events } = run([place, { kind: 'confirm' }]);
    expect(() => fold([events[1]])).to.throw(/before OrderPlaced/);
    expect(() => fold([events[0], events[1], events[1]])).to.throw(/expected 3/);
    expect(fold([])).to.equal(undefined);
  });
});
