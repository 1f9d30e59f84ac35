import { expect } from 'chai';
import { OrderService } from '../../../../services/orders/src/application/order-service.ts';
import type { OrderEventStore } from '../../../../services/orders/src/adapters/order-event-store.ts';
import { eachBackend } from '../../../support/stores.ts';
import { openTestStores, type Stores } from '../harness.ts';

const place = {
  kind: 'place',
  orderId: 'o-1',
  userId: 'alice',
  items: [{ productId: 'p-1', name: 'Lamp', unitPriceCents: 1250, quantity: 1 }],
  currency: 'USD',
} as const;

/** The store, with its loads counted. */
function counting(store: OrderEventStore): { store: OrderEventStore; loads: () => number } {
  let loads = 0;
  const counted = Object.assign(Object.create(store) as OrderEventStore, {
    load: (...args: Parameters<OrderEventStore['load']>) => {
      loads++;
      return store.load(...args);
    },
  });
  return { store: counted, loads: () => loads };
}

eachBackend('order service', (backend) => {
  let stores: Stores;
  beforeEach(async () => {
    stores = await openTestStores(backend);
  });
  afterEach(() => stores.close());

  it('when one process runs an order’s commands, then each command after the first decides without loading the stream', async () => {
    const { store, loads } = counting(stores.store);
    const service = new OrderService({ store, views: stores.views });
    await service.execute('o-1', place);
    const before = loads();
    await service.execute('o-1', { kind: 'reserve-stock', reservationId: 'r-1' });
    await service.execute('o-1', { kind: 'authorize-payment', paymentId: 'pay-1' });
    const { order } = await service.execute('o-1', { kind: 'confirm' });
    expect(order).to.deep.include({ version: 4, status: 'CONFIRMED' });
    expect(loads() - before).to.equal(0);
  });

  it('when another replica appended since, then the command is decided again on the stream and nothing is lost', async () => {
    const a = new OrderService({ store: stores.store, views: stores.views });
    const b = new OrderService({ store: stores.store, views: stores.views });
    await a.execute('o-1', place);
    await b.execute('o-1', { kind: 'reserve-stock', reservationId: 'r-1' });
    await b.execute('o-1', { kind: 'cancel', reason: 'declined' });
    // a remembers version 1 (PENDING): confirming must be refused by the stream's CANCELLED, not applied.
    let refused: unknown;
    await a.execute('o-1', { kind: 'confirm' }).catch((err: unknown) => (refused = err));
    expect(refused).to.have.property('code', 'invalid-transition');
    // and a repeat of b's command through a is answered from the stream as already applied.
    const repeat = await a.execute('o-1', { kind: 'reserve-stock', reservationId: 'r-1' });
    expect(repeat.changed).to.equal(false);
    expect(repeat.order.status).to.equal('CANCELLED');
    const events = await stores.store.load('o-1');
    expect(events.map((e) => e.type)).to.deep.equal(['OrderPlaced', 'OrderStockReserved', 'OrderCancelled']);
  });

  it('when another replica appended and this one is told an expected version, then it is judged against the stream', async () => {
    const a = new OrderService({ store: stores.store, views: stores.views });
    const b = new OrderService({ store: stores.store, views: stores.views });
    await a.execute('o-1', place);
    await b.execute('o-1', { kind: 'reserve-stock', reservationId: 'r-1' });
    const { order } = await a.execute(
      'o-1',
      { kind: 'authorize-payment', paymentId: 'pay-1' },
      { expectedVersion: 2 },
    );
    expect(order).to.deep.include({ version: 3, paymentId: 'pay-1', reservationId: 'r-1' });
  });
});
