import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type { MongoClient, Db } from 'mongodb';
import {
  idempotent,
  InMemoryEventBus,
  InMemoryProcessedStore,
  MongoProcessedStore,
  RedisProcessedStore,
  type Delivery,
  type EventEnvelope,
  type ProcessedDocument,
  type ProcessedStore,
} from '../../../../services/kit/src/events/index.ts';
import { createLogger } from '../../../../services/kit/src/logger.ts';
import { closeMongo, connectMongo } from '../../../../services/kit/src/mongo.ts';
import { closeRedis, connectRedis } from '../../../../services/kit/src/redis.ts';
import { testenv } from '../../../support/testenv.ts';
import { eventually } from '../../../support/wait.ts';
import { deleteKeys } from './event-bus.contract.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

function event(id = randomUUID()): EventEnvelope<{ n: number }> {
  return {
    id,
    topic: 'orders.events',
    type: 'order.created',
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'orders',
    data: { n: 1 },
    headers: {},
  };
}

const delivery = (group = 'audit', attempt = 1): Delivery => ({ group, consumer: 'c1', attempt });

function processedStoreContract(name: string, makeStore: () => ProcessedStore): void {
  describe(`ProcessedStore contract: ${name}`, function () {
    let store: ProcessedStore;
    beforeEach(function () {
      store = makeStore();
    });

    it('when the same message is delivered twice, then it is processed once', async function () {
      let runs = 0;
      const handler = idempotent(() => void runs++, { store });
      const e = event();
      await handler(e, delivery());
      await handler(e, delivery('audit', 2));
      expect(runs).to.equal(1);
    });

    it('when processing fails, then a redelivery processes it, and later ones are skipped', async function () {
      let runs = 0;
      const handler = idempotent(
        () => {
          if (++runs === 1) throw new Error('database down');
        },
        { store },
      );
      const e = event();
      let failure: unknown;
      await Promise.resolve(handler(e, delivery())).catch((err: unknown) => (failure = err));
      expect((failure as Error).message).to.equal('database down');
      await handler(e, delivery('audit', 2));
      await handler(e, delivery('audit', 3));
      expect(runs).to.equal(2);
    });

    it('when a delivery arrives while another is processing, then it fails so it is retried, not acknowledged', async function () {
      let release!: () => void;
      let runs = 0;
      const handler = idempotent(
        async () => {
          runs++;
          await new Promise<void>((resolve) => (release = resolve));
        },
        { store },
      );
      const e = event();
      const first = Promise.resolve(handler(e, delivery()));
      await eventually(() => runs === 1, 'the first run');
      let failure: unknown;
      await Promise.resolve(handler(e, delivery('audit', 2))).catch((err: unknown) => (failure = err));
      expect((failure as Error).message).to.match(/being processed/);
      release();
      await first;
      await handler(e, delivery('audit', 3));
      expect(runs).to.equal(1);
    });

    it('when two groups get the same message, then each processes it', async function () {
      let runs = 0;
      const handler = idempotent(() => void runs++, { store });
      const e = event();
      await handler(e, delivery('audit'));
      await handler(e, delivery('orders'));
      expect(runs).to.equal(2);
    });

    it('when a claimant dies and its lease expires, then another delivery takes over', async function () {
      const e = event();
      expect(await store.claim(`audit:${e.id}`, 'dead-token', 30)).to.equal('claimed');
      let runs = 0;
      const handler = idempotent(() => void runs++, { store, leaseMs: 1000 });
      // Refused ("being processed") while the dead claimant's lease holds; taken over once it has expired.
      await eventually(async () => {
        await handler(e, delivery('audit', 2));
        return true;
      }, "a delivery to take over once the dead claimant's 30 ms lease expired");
      expect(runs).to.equal(1);
      expect(await store.claim(`audit:${e.id}`, 'other', 1000)).to.equal('done');
    });
  });
}

describe('idempotent consumer', function () {
  processedStoreContract('InMemoryProcessedStore', () => new InMemoryProcessedStore());

  describe('with Redis', function () {
    const prefix = `test:processed:${randomUUID().slice(0, 8)}:`;
    let client: Redis;
    before(async function () {
      client = await connectRedis(testenv('REDIS_URL'), { logger, name: 'kit-idempotent-test' });
    });
    after(async function () {
      if (!client) return;
      await deleteKeys(client, prefix);
      await closeRedis(client);
    });

    processedStoreContract(
      'RedisProcessedStore',
      () => new RedisProcessedStore({ client, keyPrefix: prefix }),
    );

    it('when processing succeeded, then the key is kept with a TTL', async function () {
      const store = new RedisProcessedStore({ client, keyPrefix: prefix, doneTtlMs: 60_000 });
      const e = event();
      await idempotent(() => undefined, { store })(e, delivery());
      expect(await client.get(`${prefix}audit:${e.id}`)).to.equal('done');
      expect(await client.pttl(`${prefix}audit:${e.id}`)).to.be.within(1, 60_000);
    });
  });

  describe('with MongoDB', function () {
    let client: MongoClient;
    let db: Db;
    before(async function () {
      ({ client, db } = await connectMongo(testenv('MONGO_URL'), {
        logger,
        appName: 'kit-idempotent-test',
        dbName: `kit_idem_${randomUUID().slice(0, 8)}`,
      }));
    });
    after(async function () {
      if (!client) return;
      await db.dropDatabase();
      await closeMongo(client);
    });

    processedStoreContract(
      'MongoProcessedStore',
      () => new MongoProcessedStore({ collection: db.collection<ProcessedDocument>('processed') }),
    );

    it('when processing succeeded, then the record is done with an expiry, and expired records can be purged', async function () {
      const collection = db.collection<ProcessedDocument>('processed_ttl');
      const store = new MongoProcessedStore({ collection, doneTtlMs: 60_000 });
      const e = event();
      await idempotent(() => undefined, { store })(e, delivery());
      const record = await collection.findOne({ _id: `audit:${e.id}` });
      expect(record?.state).to.equal('done');
      expect(record?.token).to.equal(undefined);
      expect(record!.expiresAt!.getTime() - Date.now()).to.be.within(50_000, 60_000);

      await collection.insertOne({ _id: 'audit:old', state: 'done', expiresAt: new Date(Date.now() - 1000) });
      expect(await store.purgeExpired()).to.equal(1);
      expect(await collection.countDocuments()).to.equal(1);
    });

    it('when indexes are ensured, then a TTL index exists or the server says it has none (FerretDB)', async function () {
      const collection = db.collection<ProcessedDocument>('processed_idx');
      await collection.insertOne({ _id: 'audit:x', state: 'done' });
      const store = new MongoProcessedStore({ collection });
      const created = await store.ensureIndexes();
      const ttl = (await collection.indexes()).find((i) => i.name === 'expiresAt_ttl');
      expect(ttl?.expireAfterSeconds).to.equal(created ? 0 : undefined);
    });
  });

  it('when the outbox republishes an event on the in-memory bus, then the subscriber handles it once', async function () {
    const bus = new InMemoryEventBus({ source: 'test' });
    const store = new InMemoryProcessedStore();
    const seen: string[] = [];
    await bus.subscribe({
      topic: 't',
      group: 'g',
      handler: idempotent((e) => void seen.push(e.id), { store }),
    });
    const id = randomUUID();
    await bus.publish('t', { id, type: 'x', data: 1 });
    await bus.publish('t', { id, type: 'x', data: 1 });
    await bus.publish('t', { type: 'x', data: 2 });
    await eventually(() => seen.length === 2, 'two distinct events');
    await sleep(30); // then no third (the duplicate): a fixed wait only weakens this on a slow machine
    expect(seen[0]).to.equal(id);
    expect(seen).to.have.length(2);
    await bus.close();
  });
});
