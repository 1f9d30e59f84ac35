import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import { expect } from 'chai';
import type { Collection, Db, Document, MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import {
  InMemoryEventBus,
  InMemoryOutboxStore,
  MongoOutboxStore,
  OutboxRelay,
  OutboxTopicNotDeclaredError,
  outboxEntry,
  withOutbox,
  withOutboxUpdate,
  type EventBus,
  type EventEnvelope,
  type NewEvent,
  type OutboxEntry,
  type OutboxStore,
} from '../../../../services/kit/src/events/index.ts';
import { createLogger } from '../../../../services/kit/src/logger.ts';
import { closeMongo, connectMongo } from '../../../../services/kit/src/mongo.ts';
import { testenv } from '../../../support/testenv.ts';
import { eventually } from '../../../support/wait.ts';
import { useTestTracing } from './event-bus.contract.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

const entry = (n: number, topic = 'orders.events'): OutboxEntry =>
  outboxEntry(topic, { type: 'order.changed', data: { n } }, 'orders');

interface OutboxHarness {
  readonly store: OutboxStore;
  /** Writes a state change and its events the way a service does. */
  write(id: string, state: string, entries: readonly OutboxEntry[]): Promise<void>;
  state(id: string): Promise<string | undefined>;
}

function outboxStoreContract(name: string, makeHarness: () => Promise<OutboxHarness>): void {
  describe(`OutboxStore contract: ${name}`, function () {
    let h: OutboxHarness;
    beforeEach(async function () {
      h = await makeHarness();
    });

    it('when a state change is written with events, then pending lists them with their document, in order', async function () {
      const [a, b] = [entry(1), entry(2)];
      await h.write('o-1', 'CONFIRMED', [a, b]);
      const pending = await h.store.pending(10);
      expect(pending.map((p) => p.id)).to.deep.equal([a.id, b.id]);
      expect(pending[0].key).to.deep.equal({ collection: 'orders', id: 'o-1' });
      expect(pending[0].topic).to.equal('orders.events');
      expect(pending[0].envelope).to.deep.equal(a.envelope);
    });

    it('when some entries are marked sent, then only the others stay pending and the state is untouched', async function () {
      const [a, b, c] = [entry(1), entry(2), entry(3)];
      await h.write('o-1', 'PENDING', [a, b]);
      await h.write('o-2', 'PENDING', [c]);
      const pending = await h.store.pending(10);
      await h.store.markSent(pending.filter((p) => p.id !== b.id));
      expect((await h.store.pending(10)).map((p) => p.id)).to.deep.equal([b.id]);
      expect(await h.state('o-1')).to.equal('PENDING');
      expect(await h.state('o-2')).to.equal('PENDING');
    });

    it('when more entries are pending than the limit, then each call returns at most the limit', async function () {
      await h.write('o-1', 'A', [entry(1), entry(2), entry(3)]);
      await h.write('o-2', 'B', [entry(4), entry(5)]);
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = await h.store.pending(2);
        if (batch.length === 0) break;
        expect(batch.length).to.be.at.most(2);
        seen.push(...batch.map((p) => p.id));
        await h.store.markSent(batch);
      }
      expect(seen).to.have.length(5);
      expect(await h.store.pending(10)).to.deep.equal([]);
    });

    it('when the relay runs, then the events written with the state change are published and the outbox empties', async function () {
      const bus = new InMemoryEventBus({ source: 'relay-test' });
      const received: EventEnvelope[] = [];
      await bus.subscribe({ topic: 'orders.events', group: 'g', handler: (e) => void received.push(e) });
      const relay = new OutboxRelay({
        store: h.store,
        bus,
        topics: ['orders.events'],
        intervalMs: 20,
        logger,
      });
      relay.start();
      const written = [entry(1), entry(2)];
      await h.write('o-9', 'CONFIRMED', written);
      relay.nudge();
      await eventually(() => received.length === 2, 'relayed events');
      await relay.stop();
      await bus.close();
      expect(received.map((e) => e.id)).to.deep.equal(written.map((w) => w.id));
      expect(received[0]).to.deep.include({ source: 'orders', type: 'order.changed', data: { n: 1 } });
      expect(await h.store.pending(10)).to.deep.equal([]);
    });
  });
}

function memoryHarness(): Promise<OutboxHarness> {
  const store = new InMemoryOutboxStore();
  const states = new Map<string, string>();
  return Promise.resolve({
    store,
    write: (id, state, entries) => {
      states.set(id, state);
      store.add({ collection: 'orders', id }, entries);
      return Promise.resolve();
    },
    state: (id) => Promise.resolve(states.get(id)),
  });
}

/** A bus that fails the first `failures` publishes and records the rest. */
class FlakyBus extends InMemoryEventBus {
  readonly published: string[] = [];
  attempts = 0;
  inFlight = 0;
  constructor(
    private failures: number,
    private readonly delayMs = 0,
  ) {
    super({ source: 'flaky' });
  }
  override async publish<T>(topic: string, event: NewEvent<T>): Promise<EventEnvelope<T>> {
    this.attempts++;
    this.inFlight++;
    try {
      if (this.delayMs) await sleep(this.delayMs); // a slow publish (the fixture's latency)
      if (this.failures > 0) {
        this.failures--;
        throw new Error('redis unavailable');
      }
      const sent = await super.publish(topic, event);
      this.published.push(sent.id);
      return sent;
    } finally {
      this.inFlight--;
    }
  }
}

describe('outbox', function () {
  outboxStoreContract('InMemoryOutboxStore', memoryHarness);

  describe('with MongoDB', function () {
    let client: MongoClient;
    let db: Db;
    let orders: Collection<Document>;

    before(async function () {
      ({ client, db } = await connectMongo(testenv('MONGO_URL'), {
        logger,
        appName: 'kit-outbox-test',
        dbName: `kit_outbox_${randomUUID().slice(0, 8)}`,
      }));
    });
    beforeEach(function () {
      orders = db.collection(`orders_${randomUUID().slice(0, 8)}`);
    });
    after(async function () {
      if (!client) return;
      await db.dropDatabase();
      await closeMongo(client);
    });

    outboxStoreContract('MongoOutboxStore', () => {
      const collection = db.collection<Document>('orders');
      return collection.deleteMany({}).then(() => ({
        store: new MongoOutboxStore(collection),
        write: async (id: string, state: string, entries: readonly OutboxEntry[]) => {
          await collection.updateOne({ _id: id as never }, withOutboxUpdate({ $set: { state } }, entries), {
            upsert: true,
          });
        },
        state: async (id: string) =>
          (await collection.findOne({ _id: id as never }))?.state as string | undefined,
      }));
    });

    it('when a conditional update does not match, then no events are written either', async function () {
      await orders.insertOne(withOutbox({ _id: 'o-1' as never, status: 'CANCELLED' }, []));
      const result = await orders.updateOne(
        { _id: 'o-1' as never, status: 'PENDING' },
        withOutboxUpdate({ $set: { status: 'CONFIRMED' } }, [entry(1)]),
      );
      expect(result.modifiedCount).to.equal(0);
      expect(await new MongoOutboxStore(orders).pending(10)).to.deep.equal([]);
    });

    it('when entries are pending, then the flag finds them, is cleared once the outbox is empty, and a document without it waits for the full scan', async function () {
      const store = new MongoOutboxStore(orders, { fullScanEveryMs: 60_000 });
      expect(await store.pending(10)).to.deep.equal([]); // the first call is the full scan
      const flagged = entry(1);
      const unflagged = entry(2);
      await orders.insertOne(withOutbox({ _id: 'f-1' as never, status: 'PENDING' }, [flagged]));
      await orders.insertOne({ _id: 'f-2' as never, outbox: [unflagged] });
      expect((await orders.findOne({ _id: 'f-1' as never }))?.outboxPending).to.equal(true);

      const found = await store.pending(10);
      expect(found.map((p) => p.id)).to.deep.equal([flagged.id]);
      await store.markSent(found);
      expect((await orders.findOne({ _id: 'f-1' as never }))?.outboxPending).to.equal(false);

      const afterRestart = await new MongoOutboxStore(orders).pending(10);
      expect(afterRestart.map((p) => p.id)).to.deep.equal([unflagged.id]);
    });

    it('when a document is inserted with its events, then they are pending', async function () {
      const e = entry(1);
      await orders.insertOne(withOutbox({ _id: 'o-2' as never, status: 'PENDING' }, [e]));
      const pending = await new MongoOutboxStore(orders).pending(10);
      expect(pending.map((p) => p.id)).to.deep.equal([e.id]);
      expect(pending[0].envelope.occurredAt).to.equal(e.envelope.occurredAt);
    });

    it('when the update also pushes to another array, then both pushes apply', async function () {
      await orders.insertOne({ _id: 'o-3' as never, history: ['created'] });
      await orders.updateOne(
        { _id: 'o-3' as never },
        withOutboxUpdate({ $set: { status: 'CONFIRMED' }, $push: { history: 'confirmed' } }, [entry(1)]),
      );
      const doc = await orders.findOne({ _id: 'o-3' as never });
      expect(doc?.history).to.deep.equal(['created', 'confirmed']);
      expect(doc?.outbox).to.have.length(1);
    });

    it('when a writer adds an entry after the relay read the outbox, then marking the read ones sent keeps the new one pending', async function () {
      const first = entry(1);
      const later = entry(2);
      await orders.insertOne(withOutbox({ _id: 'w-1' as never, status: 'PENDING' }, [first]));
      const store = new MongoOutboxStore(orders);
      const read = await store.pending(10);
      await orders.updateOne(
        { _id: 'w-1' as never },
        withOutboxUpdate({ $set: { status: 'CONFIRMED' } }, [later]),
      );
      await store.markSent(read);
      const doc = await orders.findOne({ _id: 'w-1' as never });
      expect((doc?.outbox as OutboxEntry[]).map((e) => e.id)).to.deep.equal([later.id]);
      expect(doc?.outboxPending).to.equal(true);
      expect((await store.pending(10)).map((p) => p.id)).to.deep.equal([later.id]);
    });

    it('when another relay already sent the entries and a writer added one, then the new one is not cleared by the stale pass', async function () {
      const first = entry(1);
      const later = entry(2);
      await orders.insertOne(withOutbox({ _id: 'w-2' as never }, [first]));
      const slow = new MongoOutboxStore(orders);
      const fast = new MongoOutboxStore(orders);
      const readBySlow = await slow.pending(10);
      await fast.markSent(await fast.pending(10));
      await orders.updateOne({ _id: 'w-2' as never }, withOutboxUpdate({ $set: { n: 1 } }, [later]));
      await slow.markSent(readBySlow); // same length as the outbox it read, but no longer the same entries
      expect((await fast.pending(10)).map((p) => p.id)).to.deep.equal([later.id]);
    });

    /** A second client on the test database whose commands are counted in `registry`. */
    async function countedClient() {
      const registry = new Registry();
      const counted = await connectMongo(testenv('MONGO_URL'), {
        logger,
        appName: 'kit-outbox-test',
        dbName: db.databaseName,
        registry,
      });
      return { registry, counted };
    }

    it('when every entry of a document is sent, then one write empties its outbox and clears the flag', async function () {
      const { registry, counted } = await countedClient();
      try {
        const coll = counted.db.collection<Document>(orders.collectionName);
        await coll.insertOne(withOutbox({ _id: 'w-3' as never }, [entry(1), entry(2)]));
        const store = new MongoOutboxStore(coll);
        const pending = await store.pending(10);
        const before = await updates(registry);
        await store.markSent(pending);
        expect((await updates(registry)) - before).to.equal(1);
        expect(await coll.findOne({ _id: 'w-3' as never })).to.deep.include({
          outbox: [],
          outboxPending: false,
        });
      } finally {
        await closeMongo(counted.client);
      }
    });

    it('when entries of several documents are sent together, then one round trip empties them all, and a document changed meanwhile keeps its new entry', async function () {
      const { registry, counted } = await countedClient();
      try {
        const coll = counted.db.collection<Document>(orders.collectionName);
        const store = new MongoOutboxStore(coll);
        const offered = [];
        for (const id of ['b-1', 'b-2', 'b-3']) {
          const written = [entry(1), entry(2)];
          await coll.insertOne(withOutbox({ _id: id as never }, [written[0]]));
          await coll.updateOne({ _id: id as never }, withOutboxUpdate({}, [written[1]]));
          // As a writer hands them over: one write at a time.
          offered.push(...store.written({ collection: coll.collectionName, id }, [written[0]]));
          offered.push(...store.written({ collection: coll.collectionName, id }, [written[1]]));
        }
        let before = await updates(registry);
        await store.markSent(offered);
        expect((await updates(registry)) - before, 'one bulk update for three documents').to.equal(1);
        expect(await store.pending(10)).to.deep.equal([]);

        // b-4's outbox got a third entry after the two were handed over: the bulk update misses it, the slow path
        // removes exactly the two.
        const written = [entry(1), entry(2)];
        await coll.insertOne(withOutbox({ _id: 'b-4' as never }, written));
        await coll.insertOne(withOutbox({ _id: 'b-5' as never }, [entry(4)]));
        const late = entry(3);
        await coll.updateOne({ _id: 'b-4' as never }, withOutboxUpdate({}, [late]));
        const sent = [
          ...store.written({ collection: coll.collectionName, id: 'b-4' }, written),
          ...(await store.pending(10)).filter((e) => e.key.id === 'b-5'),
        ];
        before = await updates(registry);
        await store.markSent(sent);
        expect((await updates(registry)) - before).to.be.greaterThan(1);
        expect((await store.pending(10)).map((e) => e.id)).to.deep.equal([late.id]);
      } finally {
        await closeMongo(counted.client);
      }
    });

    it('when the store spans several collections, then pending and markSent cover all of them', async function () {
      const payments = db.collection<Document>(`payments_${randomUUID().slice(0, 8)}`);
      await orders.insertOne(withOutbox({ _id: 'o-4' as never }, [entry(1)]));
      await payments.insertOne(withOutbox({ _id: 'p-1' as never }, [entry(2, 'payments.events')]));
      const store = new MongoOutboxStore([orders, payments]);
      const pending = await store.pending(10);
      expect(pending.map((p) => p.key.collection).sort()).to.deep.equal(
        [orders.collectionName, payments.collectionName].sort(),
      );
      await store.markSent(pending);
      expect(await store.pending(10)).to.deep.equal([]);
      expect(await payments.findOne({ _id: 'p-1' as never })).to.deep.include({ outbox: [] });
    });
  });

  describe('OutboxRelay', function () {
    let relay: OutboxRelay | undefined;
    let bus: EventBus | undefined;
    afterEach(async function () {
      await relay?.stop();
      await bus?.close();
      relay = undefined;
      bus = undefined;
    });

    it('when publishing fails, then nothing is lost and the entries go out on a later pass, in order per document', async function () {
      const store = new InMemoryOutboxStore();
      const flaky = new FlakyBus(3);
      bus = flaky;
      const a = [entry(1), entry(2), entry(3)];
      const b = [entry(4)];
      store.add({ collection: 'orders', id: 'a' }, a);
      store.add({ collection: 'orders', id: 'b' }, b);
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 10, logger });
      relay.start();
      await eventually(() => store.size === 0, 'an empty outbox');
      expect(flaky.attempts).to.be.greaterThan(4);
      expect(new Set(flaky.published)).to.deep.equal(new Set([...a, ...b].map((e) => e.id)));
      const order = a.map((e) => flaky.published.indexOf(e.id));
      expect(order).to.deep.equal([...order].sort((x, y) => x - y));
    });

    it('when built without topics, then it throws asking for them', function () {
      const unused = new FlakyBus(0);
      bus = unused;
      expect(() => new OutboxRelay({ store: new InMemoryOutboxStore(), bus: unused, topics: [] })).to.throw(
        /declare the topics it publishes/,
      );
    });

    it('when a writer offers an entry outside its topics, then offer throws naming the topic and the fix, and nothing is published', async function () {
      const store = new InMemoryOutboxStore();
      const flaky = new FlakyBus(0);
      bus = flaky;
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 60_000 });
      relay.start();
      const stray = entry(1, 'payments.events');
      store.add({ collection: 'orders', id: 'a' }, [stray]);
      expect(() => relay?.offer({ collection: 'orders', id: 'a' }, [stray]))
        .to.throw(OutboxTopicNotDeclaredError)
        .with.property('message')
        .that.includes("outbox entry on 'payments.events', but its relay publishes only 'orders.events'")
        .and.includes("add the topic to the OutboxRelay's topics");
      expect(await relay.relayOnce()).to.equal(0);
      expect(flaky.attempts).to.equal(0);
    });

    it('when the store holds an entry outside its topics, then it is never published and its document waits, while other documents go out', async function () {
      const store = new InMemoryOutboxStore();
      const flaky = new FlakyBus(0);
      bus = flaky;
      const [stray, after, other] = [entry(1, 'payments.events'), entry(2), entry(3)];
      store.add({ collection: 'orders', id: 'a' }, [stray, after]);
      store.add({ collection: 'orders', id: 'b' }, [other]);
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 60_000, logger });
      expect(await relay.relayOnce()).to.equal(1);
      await relay.flushMarks();
      expect(flaky.published).to.deep.equal([other.id]);
      expect((await store.pending(10)).map((e) => e.id)).to.deep.equal([stray.id, after.id]);
    });

    it('when nudged after a write, then the event goes out without waiting for the poll period', async function () {
      const store = new InMemoryOutboxStore();
      const flaky = new FlakyBus(0);
      bus = flaky;
      let reads = 0;
      const pending = store.pending.bind(store);
      store.pending = async (limit) => {
        const batch = await pending(limit);
        reads++;
        return batch;
      };
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 60_000 });
      relay.start();
      // The pass at start must have found the outbox empty, or it, not the nudge, would send the event.
      await eventually(() => reads >= 1, 'the first pass to read the empty outbox');
      const e = entry(1);
      store.add({ collection: 'orders', id: 'x' }, [e]);
      relay.nudge();
      // The next poll is 60 s away; the default deadline is far shorter.
      await eventually(() => flaky.published.length === 1, 'the nudged event');
      expect(flaky.published).to.deep.equal([e.id]);
    });

    /** An in-memory store whose polls are counted. */
    function countedStore(): { store: InMemoryOutboxStore; polls: () => number } {
      const store = new InMemoryOutboxStore();
      let polls = 0;
      const pending = store.pending.bind(store);
      store.pending = (limit) => {
        polls++;
        return pending(limit);
      };
      return { store, polls: () => polls };
    }

    it('when a writer offers what it stored, then it goes out without the store being read, and is removed from it', async function () {
      const { store, polls } = countedStore();
      const flaky = new FlakyBus(0);
      bus = flaky;
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 60_000 });
      relay.start();
      await eventually(() => polls() === 1, 'the first pass to read the empty outbox');
      const key = { collection: 'orders', id: 'x' };
      const written = [entry(1), entry(2)];
      store.add(key, written);
      relay.offer(key, written);
      await eventually(() => store.size === 0, 'the offered entries to be sent and removed');
      expect(flaky.published).to.deep.equal(written.map((e) => e.id));
      expect(polls(), 'no poll after the offer').to.equal(1);
    });

    it('when a poll already sent an entry that is offered afterwards, then it is not published twice', async function () {
      const { store } = countedStore();
      const flaky = new FlakyBus(0);
      bus = flaky;
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 60_000 });
      relay.start();
      const key = { collection: 'orders', id: 'x' };
      const written = [entry(1)];
      store.add(key, written);
      relay.nudge();
      await eventually(() => store.size === 0, 'the polled entry to be sent');
      relay.offer(key, written);
      relay.offer(key, [entry(2)]); // a pass that certainly ran after the first offer
      await eventually(() => flaky.published.length === 2, 'the second entry');
      expect(flaky.published).to.deep.equal([written[0].id, flaky.published[1]]);
    });

    it('when publishing an offered entry fails, then the store is polled and the entry goes out from there', async function () {
      const { store, polls } = countedStore();
      const flaky = new FlakyBus(1);
      bus = flaky;
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 60_000, logger });
      relay.start();
      await eventually(() => polls() === 1, 'the first pass to read the empty outbox');
      const key = { collection: 'orders', id: 'x' };
      const written = [entry(1)];
      store.add(key, written);
      relay.offer(key, written);
      await eventually(() => store.size === 0, 'the entry to be sent after the failure');
      expect(flaky.published).to.deep.equal([written[0].id]);
      expect(polls()).to.be.greaterThan(1);
    });

    it('when entries are published close together, then they are removed together after markDelayMs, and stop removes what is left', async function () {
      const store = new InMemoryOutboxStore();
      const removals: number[] = [];
      const markSent = store.markSent.bind(store);
      store.markSent = (entries) => {
        removals.push(entries.length);
        return markSent(entries);
      };
      const flaky = new FlakyBus(0);
      bus = flaky;
      relay = new OutboxRelay({
        store,
        bus,
        topics: ['orders.events'],
        intervalMs: 60_000,
        markDelayMs: 200,
      });
      relay.start();
      const [a, b] = [
        { collection: 'orders', id: 'a' },
        { collection: 'orders', id: 'b' },
      ];
      const first = [entry(1)];
      store.add(a, first);
      relay.offer(a, first);
      await eventually(() => flaky.published.length === 1, 'the first event published');
      expect(store.size, 'published, not yet removed').to.equal(1);
      const second = [entry(2)];
      const third = [entry(3)];
      store.add(a, second);
      store.add(b, third);
      relay.offer(a, second);
      relay.offer(b, third);
      await eventually(() => store.size === 0, 'the three removed');
      expect(removals).to.deep.equal([3]);

      const last = [entry(4)];
      store.add(b, last);
      relay.offer(b, last);
      await eventually(() => flaky.published.length === 4, 'the last event published');
      await relay.stop();
      expect(store.size, 'removed by stop').to.equal(0);
    });

    it('when the process dies between publishing and removing, then the entry is published again (at least once)', async function () {
      const store = new InMemoryOutboxStore();
      const flaky = new FlakyBus(0);
      bus = flaky;
      const dying = new OutboxRelay({
        store,
        bus,
        topics: ['orders.events'],
        intervalMs: 60_000,
        markDelayMs: 3_600_000,
      });
      dying.start();
      const key = { collection: 'orders', id: 'a' };
      const written = [entry(1)];
      store.add(key, written);
      dying.offer(key, written);
      await eventually(() => flaky.published.length === 1, 'the event published');
      // No stop(): a crash. The next process's relay finds the entry still there.
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 60_000, markDelayMs: 0 });
      expect(await relay.relayOnce()).to.equal(1);
      expect(flaky.published).to.deep.equal([written[0].id, written[0].id]);
      expect(store.size).to.equal(0);
    });

    it('when stopped during a pass, then stop waits for it and no further pass runs', async function () {
      const store = new InMemoryOutboxStore();
      const slow = new FlakyBus(0, 30);
      bus = slow;
      store.add({ collection: 'orders', id: 'x' }, [entry(1), entry(2), entry(3)]);
      relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 10 });
      relay.start();
      await eventually(() => slow.attempts === 1, 'the first publish');
      await relay.stop();
      expect(slow.inFlight).to.equal(0);
      expect(store.size).to.equal(3 - slow.published.length);
      const attempts = slow.attempts;
      store.add({ collection: 'orders', id: 'y' }, [entry(4)]);
      relay.nudge();
      await sleep(60); // no pass may run: a fixed wait only weakens this on a slow machine
      expect(slow.attempts).to.equal(attempts);
    });

    describe('trace context', function () {
      const tracing = useTestTracing();

      it('when an entry is written inside a request span, then the consumer continues that trace', async function () {
        const store = new InMemoryOutboxStore();
        const memoryBus = new InMemoryEventBus({ source: 'orders' });
        bus = memoryBus;
        const traceIds: (string | undefined)[] = [];
        await memoryBus.subscribe({
          topic: 'orders.events',
          group: 'g',
          handler: () => void traceIds.push(trace.getActiveSpan()?.spanContext().traceId),
        });
        const requestTraceId = trace.getTracer('test').startActiveSpan('POST /orders', (span) => {
          store.add({ collection: 'orders', id: 'o' }, [entry(1)]);
          span.end();
          return span.spanContext().traceId;
        });
        relay = new OutboxRelay({ store, bus, topics: ['orders.events'], intervalMs: 10 });
        relay.start();
        await eventually(() => traceIds.length === 1, 'the consumer');
        expect(traceIds).to.deep.equal([requestTraceId]);
        expect(tracing.exporter.getFinishedSpans().map((s) => s.spanContext().traceId)).to.include(
          requestTraceId,
        );
      });
    });
  });
});

async function updates(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('mongodb_commands_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels.command === 'update').reduce((n, v) => n + v.value, 0);
}
