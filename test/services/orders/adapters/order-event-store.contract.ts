import { expect } from 'chai';
import { AppError } from '@meshmart/kit';
import {
  decide,
  evolve,
  type OrderEvent,
  type OrderView,
} from '../../../../services/orders/src/domain/order-aggregate.ts';
import type { OrderEventStore } from '../../../../services/orders/src/adapters/order-event-store.ts';

export const placed = (orderId: string, occurredAt: string, userId = 'alice'): OrderEvent =>
  decide(
    {
      kind: 'place',
      orderId,
      userId,
      currency: 'USD',
      items: [{ productId: 'p-1', name: 'Lamp', unitPriceCents: 1000, quantity: 2 }],
    },
    undefined,
    occurredAt,
  )[0];

/** The next event after `state`: stock reserved, then payment authorized, then confirmed. */
export function next(state: OrderView, occurredAt: string): OrderEvent {
  const command =
    state.reservationId === undefined
      ? ({ kind: 'reserve-stock', reservationId: `r-${state.id}` } as const)
      : state.paymentId === undefined
        ? ({ kind: 'authorize-payment', paymentId: `pay-${state.id}` } as const)
        : ({ kind: 'confirm' } as const);
  return decide(command, state, occurredAt)[0];
}

async function expectConflict(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).status).to.equal(409);
    expect((err as AppError).code).to.equal('version-conflict');
    return;
  }
  expect.fail('expected a 409 version-conflict');
}

/** What every OrderEventStore must do; run against the in-memory twin and the MongoDB adapter. */
export function orderEventStoreContract(
  name: string,
  open: () => Promise<{ store: OrderEventStore; close(): Promise<void> }>,
): void {
  describe(`OrderEventStore contract: ${name}`, function () {
    let store: OrderEventStore;
    let close: () => Promise<void>;
    beforeEach(async function () {
      const opened = await open();
      store = opened.store;
      close = () => opened.close();
    });
    afterEach(async function () {
      await close();
    });

    it('when events are appended, then load returns them in version order with ids, and each is in the outbox', async function () {
      const first = placed('o-1', '2026-01-01T10:00:00.000Z');
      const [s1] = await store.append('o-1', 0, [first]);
      const second = next(evolve(undefined, first), '2026-01-01T10:01:00.000Z');
      await store.append('o-1', 1, [second]);
      const loaded = await store.load('o-1');
      expect(loaded.map((e) => [e.type, e.version])).to.deep.equal([
        ['OrderPlaced', 1],
        ['OrderStockReserved', 2],
      ]);
      expect(loaded[0]).to.deep.equal(s1);
      expect(loaded[1].data).to.deep.equal(second.data);
      const pending = await store.outbox.pending(10);
      expect(pending.map((p) => p.envelope.id)).to.have.members(loaded.map((e) => e.id));
      expect(pending.every((p) => p.topic === 'orders.events')).to.equal(true);
    });

    it('when an append expects a version the stream is no longer at, then it is a 409 version-conflict and nothing is added', async function () {
      const first = placed('o-1', '2026-01-01T10:00:00.000Z');
      await store.append('o-1', 0, [first]);
      await expectConflict(store.append('o-1', 0, [placed('o-1', '2026-01-01T10:00:01.000Z', 'bob')]));
      const ahead = { ...next(evolve(undefined, first), '2026-01-01T10:02:00.000Z') };
      const skipping = { ...ahead, data: { ...ahead.data, orderVersion: 5 } } as OrderEvent;
      await expectConflict(store.append('o-1', 4, [skipping]));
      const loaded = await store.load('o-1');
      expect(loaded.map((e) => e.version)).to.deep.equal([1]);
      expect(loaded[0].data.userId).to.equal('alice');
      expect(await store.outbox.pending(10)).to.have.length(1);
    });

    it('when two appends race at the same expected version, then exactly one wins', async function () {
      const first = placed('o-1', '2026-01-01T10:00:00.000Z');
      await store.append('o-1', 0, [first]);
      const state = evolve(undefined, first);
      const contenders = ['a', 'b', 'c', 'd', 'e'].map((reason) =>
        decide({ kind: 'cancel', reason }, state, '2026-01-01T10:01:00.000Z'),
      );
      const results = await Promise.allSettled(contenders.map((events) => store.append('o-1', 1, events)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).to.have.length(1);
      expect(lost).to.have.length(4);
      expect(lost.map((r) => (r.reason as AppError).code)).to.deep.equal(Array(4).fill('version-conflict'));
      const stored = await store.load('o-1');
      expect(stored[1].data).to.deep.equal(won[0].value[0].data);
      expect((await store.load('o-1')).map((e) => e.version)).to.deep.equal([1, 2]);
    });

    it('when loaded as of an instant, then only the events that occurred until then are returned', async function () {
      const first = placed('o-1', '2026-01-01T10:00:00.000Z');
      await store.append('o-1', 0, [first]);
      await store.append('o-1', 1, [next(evolve(undefined, first), '2026-01-01T11:00:00.000Z')]);
      const at = (iso: string) => store.load('o-1', { asOf: new Date(iso) });
      expect(await at('2026-01-01T09:59:59.999Z')).to.deep.equal([]);
      expect((await at('2026-01-01T10:00:00.000Z')).map((e) => e.version)).to.deep.equal([1]);
      expect((await at('2026-01-01T10:30:00.000Z')).map((e) => e.version)).to.deep.equal([1]);
      expect((await at('2026-01-01T11:00:00.000Z')).map((e) => e.version)).to.deep.equal([1, 2]);
    });

    it('when an order is unknown, then load returns no events', async function () {
      expect(await store.load('nope')).to.deep.equal([]);
    });

    it('when every event is streamed, then they come by order id and version', async function () {
      for (const id of ['o-b', 'o-a']) {
        const first = placed(id, '2026-01-01T10:00:00.000Z');
        await store.append(id, 0, [first]);
        await store.append(id, 1, [next(evolve(undefined, first), '2026-01-01T10:01:00.000Z')]);
      }
      const seen: string[] = [];
      for await (const e of store.all()) seen.push(`${e.data.orderId}/${e.version}`);
      expect(seen).to.deep.equal(['o-a/1', 'o-a/2', 'o-b/1', 'o-b/2']);
    });

    it('when the relay marks the entries sent, then the outbox empties and the events stay', async function () {
      await store.append('o-1', 0, [placed('o-1', '2026-01-01T10:00:00.000Z')]);
      await store.outbox.markSent(await store.outbox.pending(10));
      expect(await store.outbox.pending(10)).to.deep.equal([]);
      expect(await store.load('o-1')).to.have.length(1);
    });
  });
}
