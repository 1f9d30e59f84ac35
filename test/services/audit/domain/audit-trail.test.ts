import { expect } from 'chai';
import { createEnvelope } from '@meshmart/kit/events';
import type { AuditLog } from '../../../../services/audit/src/adapters/audit-log.ts';
import { InMemoryAuditLog } from '../../../../services/audit/src/adapters/in-memory-audit-log.ts';
import { MongoAuditLog } from '../../../../services/audit/src/adapters/mongo-audit-log.ts';
import { AuditTrail } from '../../../../services/audit/src/domain/audit-trail.ts';
import { eachBackend, testMongo, type TestMongo } from '../../../support/stores.ts';
import { paymentEvent } from '../audit-events.ts';

eachBackend('audit trail', (backend) => {
  let log: AuditLog;
  let mongo: TestMongo | undefined;

  beforeEach(async () => {
    if (backend === 'real') {
      mongo = await testMongo('audit_trail');
      const m = new MongoAuditLog(mongo.db);
      await m.ensureIndexes();
      log = m;
    } else {
      log = new InMemoryAuditLog();
    }
  });
  afterEach(() => mongo?.close());

  describe('when the same envelope is appended twice', () => {
    it('then the second is a duplicate and one record exists', async () => {
      const trail = new AuditTrail({ log });
      const envelope = createEnvelope('payments.events', paymentEvent(1), 'payments');
      expect(await trail.append(envelope)).to.equal('appended');
      expect(await trail.append(envelope)).to.equal('duplicate');
      expect((await log.list({ limit: 10 })).total).to.equal(1);
      expect(await trail.verify()).to.deep.equal({ ok: true, records: 1 });
    });
  });

  describe('when two writers append at the same time', () => {
    it('then every event gets its own seq and the chain verifies', async () => {
      const writers = [new AuditTrail({ log }), new AuditTrail({ log })];
      const envelopes = Array.from({ length: 30 }, (_, i) =>
        createEnvelope('payments.events', paymentEvent(i), 'payments'),
      );
      await Promise.all(envelopes.map((e, i) => writers[i % 2].append(e)));
      const seqs: number[] = [];
      const ids = new Set<string>();
      for await (const r of log.scan()) {
        seqs.push(r.seq);
        ids.add(r.id);
      }
      expect(seqs).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(ids).to.have.property('size', 30);
      expect(await writers[0].verify()).to.deep.equal({ ok: true, records: 30 });
    });
  });

  describe('when a trail appends one event after another', () => {
    it('then each append after the first is one insert, without reading the head', async () => {
      let heads = 0;
      const counted: AuditLog = Object.assign(Object.create(log) as AuditLog, {
        head: () => {
          heads++;
          return log.head();
        },
      });
      const trail = new AuditTrail({ log: counted });
      for (let i = 0; i < 5; i++)
        await trail.append(createEnvelope('payments.events', paymentEvent(i), 'payments'));
      expect(heads).to.equal(1);
      expect(await trail.verify()).to.deep.equal({ ok: true, records: 5 });
    });
  });

  describe('when many events arrive while an insert is on its way', () => {
    it('then they are inserted together, each caller gets its own outcome, and the chain verifies', async () => {
      let writes = 0;
      const counted: AuditLog = Object.assign(Object.create(log) as AuditLog, {
        insertMany: (records: Parameters<AuditLog['insertMany']>[0]) => {
          writes++;
          return log.insertMany(records);
        },
      });
      const trail = new AuditTrail({ log: counted });
      const envelopes = Array.from({ length: 30 }, (_, i) =>
        createEnvelope('payments.events', paymentEvent(i), 'payments'),
      );
      // The 5th is the 2nd again: a redelivery inside the same batch.
      const outcomes = await Promise.all(
        [...envelopes.slice(0, 4), envelopes[1], ...envelopes.slice(4)].map((e) => trail.append(e)),
      );
      expect(outcomes.filter((o) => o === 'appended')).to.have.length(30);
      expect(outcomes[4]).to.equal('duplicate');
      expect(writes).to.be.below(10);
      expect(await trail.verify()).to.deep.equal({ ok: true, records: 30 });
    });
  });

  describe('when events come one at a time to a lingering trail', () => {
    it('then they wait for each other and share one insert, and a full batch goes at once', async () => {
      const batches: number[] = [];
      const counted: AuditLog = Object.assign(Object.create(log) as AuditLog, {
        insertMany: (records: Parameters<AuditLog['insertMany']>[0]) => {
          batches.push(records.length);
          return log.insertMany(records);
        },
      });
      const trail = new AuditTrail({ log: counted, lingerMs: 200 });
      const appended: Promise<string>[] = [];
      for (let i = 0; i < 5; i++) {
        appended.push(trail.append(createEnvelope('payments.events', paymentEvent(i), 'payments')));
        // Each from its own turn of the event loop, as deliveries arrive.
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await Promise.all(appended)).to.deep.equal(Array(5).fill('appended'));
      expect(batches).to.deep.equal([5]);

      // maxBatch reached: no waiting for the (here endless) linger.
      const full = new AuditTrail({ log: counted, lingerMs: 3_600_000, maxBatch: 3 });
      const outcomes = await Promise.all(
        [5, 6, 7].map((i) => full.append(createEnvelope('payments.events', paymentEvent(i), 'payments'))),
      );
      expect(outcomes).to.deep.equal(['appended', 'appended', 'appended']);
      expect(batches).to.deep.equal([5, 3]);
      expect(await trail.verify()).to.deep.equal({ ok: true, records: 8 });
    });
  });

  describe('when two replicas (each its own log adapter) take turns', () => {
    it('then each notices the other moved the head and the chain stays whole', async () => {
      const other: AuditLog = mongo ? new MongoAuditLog(mongo.db) : log;
      const replicas = [new AuditTrail({ log }), new AuditTrail({ log: other })];
      for (let i = 0; i < 10; i++)
        expect(
          await replicas[i % 2].append(createEnvelope('payments.events', paymentEvent(i), 'payments')),
        ).to.equal('appended');
      expect(await replicas[1].verify()).to.deep.equal({ ok: true, records: 10 });
    });
  });

  describe('when the log is empty', () => {
    it('then it verifies with zero records', async () => {
      expect(await new AuditTrail({ log }).verify()).to.deep.equal({ ok: true, records: 0 });
    });
  });
});
