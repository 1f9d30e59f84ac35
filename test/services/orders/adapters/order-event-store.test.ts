import { expect } from 'chai';
import { InMemoryEventBus, OutboxRelay, type EventBus } from '@meshmart/kit/events';
import { InMemoryOrderEventStore } from '../../../../services/orders/src/adapters/in-memory-order-event-store.ts';
import { MongoOrderEventStore } from '../../../../services/orders/src/adapters/mongo-order-event-store.ts';
import { ORDERS_TOPIC } from '../../../../services/orders/src/adapters/order-event-store.ts';
import { eachBackend, testMongo } from '../../../support/stores.ts';
import { openTestStores, settled, type Stores } from '../harness.ts';
import { orderEventStoreContract, placed } from './order-event-store.contract.ts';

orderEventStoreContract('in-memory', () =>
  Promise.resolve({ store: new InMemoryOrderEventStore(), close: () => Promise.resolve() }),
);

orderEventStoreContract('MongoDB (FerretDB)', async () => {
  const mongo = await testMongo('orders');
  const store = new MongoOrderEventStore(mongo.db);
  await store.ensureIndexes();
  return { store, close: () => mongo.close() };
});

describe('MongoOrderEventStore', () => {
  it('when a second document with the same (orderId, version) is inserted directly, then the unique index refuses it', async function () {
    const mongo = await testMongo('orders');
    try {
      const store = new MongoOrderEventStore(mongo.db);
      await store.ensureIndexes();
      await store.append('o-1', 0, [placed('o-1', '2026-01-01T10:00:00.000Z')]);
      const [doc] = await store.collection.find({ orderId: 'o-1' }).toArray();
      const { _id: _ignored, ...copy } = doc;
      let code: unknown;
      await store.collection.insertOne({ ...copy, eventId: 'other' }).catch((err: { code?: unknown }) => {
        code = err.code;
      });
      expect(code).to.equal(11000);
      expect(await store.collection.countDocuments({ orderId: 'o-1' })).to.equal(1);
    } finally {
      await mongo.close();
    }
  });
});

eachBackend('order events through the outbox', (backend) => {
  let stores: Stores;
  let bus: InMemoryEventBus;
  let relay: OutboxRelay;
  afterEach(async function () {
    await relay.stop();
    await bus.close();
    await stores.close();
  });

  it('when the bus is down at append time, then the event is kept and published once it is back', async function () {
    stores = await openTestStores(backend);
    bus = new InMemoryEventBus({ source: 'orders' });
    let down = true;
    const flaky: EventBus = {
      publish: (topic, event) => (down ? Promise.reject(new Error('bus down')) : bus.publish(topic, event)),
      subscribe: (options) => bus.subscribe(options),
      deadLetters: (topic, query) => bus.deadLetters(topic, query),
      redrive: (topic, options) => bus.redrive(topic, options),
      close: () => bus.close(),
    };
    relay = new OutboxRelay({ store: stores.store.outbox, bus: flaky, topics: [ORDERS_TOPIC] });
    const seen: string[] = [];
    await bus.subscribe({ topic: 'orders.events', group: 'observer', handler: (e) => void seen.push(e.id) });
    const [stored] = await stores.store.append('o-1', 0, [placed('o-1', '2026-01-01T10:00:00.000Z')]);
    expect(await relay.relayOnce()).to.equal(0);
    expect(await stores.store.outbox.pending(10)).to.have.length(1);
    down = false;
    expect(await relay.relayOnce()).to.equal(1);
    await relay.flushMarks();
    expect(await stores.store.outbox.pending(10)).to.deep.equal([]);
    await settled(() => seen.length === 1, 'the event delivered');
    expect(seen).to.deep.equal([stored.id]);
  });
});
