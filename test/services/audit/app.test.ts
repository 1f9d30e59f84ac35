import { expect } from 'chai';
import request from 'supertest';
import { eachBackend, eventually } from '../../support/stores.ts';
import { auditFixture, type AuditFixture } from './audit-fixture.ts';
import { hashOf, type AuditRecord } from '../../../services/audit/src/domain/audit-record.ts';
import { AT, paymentEvent, sampleEvents, TRACE_ID } from './audit-events.ts';

const PROBLEM = /^application\/problem\+json/;

eachBackend('audit API', (backend) => {
  let fx: AuditFixture;
  afterEach(() => fx?.close());

  const total = async () => (await request(fx.app).get('/audit').expect(200)).body.total as number;
  const verify = async () => (await request(fx.app).get('/audit/verify').expect(200)).body;

  async function publishSamples(): Promise<string[]> {
    const ids: string[] = [];
    for (const [topic, event] of sampleEvents) ids.push((await fx.bus.publish(topic, event)).id);
    await eventually(async () => (await total()) === sampleEvents.length, 'the sample records');
    return ids;
  }

  async function publishPayments(n: number): Promise<void> {
    for (let i = 1; i <= n; i++) await fx.bus.publish('payments.events', paymentEvent(i));
    await eventually(async () => (await total()) === n, `${n} records`, 10_000);
  }

  /** Alters a stored record directly in the store, as an intruder would. */
  async function tamper(seq: number, patch: Record<string, unknown>): Promise<void> {
    if (fx.db) {
      const result = await fx.db.collection('audit').updateOne({ seq }, { $set: patch });
      expect(result.matchedCount).to.equal(1);
    } else {
      fx.memory!.tamper(seq, patch);
    }
  }

  async function recordAt(seq: number) {
    const all = (await request(fx.app).get('/audit?limit=100').expect(200)).body.items as AuditRecord[];
    return all.find((r) => r.seq === seq)!;
  }

  describe('when events arrive on every kind of topic', () => {
    beforeEach(async () => (fx = await auditFixture(backend)));

    it('then each becomes a record with who, what, which resource, when and trace id, newest first', async () => {
      const ids = await publishSamples();
      const res = await request(fx.app).get('/audit').expect(200);
      expect(res.body).to.include({ limit: 20, total: 4 });
      const items = res.body.items;
      expect(items.map((r: { seq: number }) => r.seq)).to.deep.equal([4, 3, 2, 1]);
      const order = items.find((r: { action: string }) => r.action === 'OrderPlaced');
      expect(order).to.include({
        id: ids[0],
        actor: 'alice',
        resource: 'order/o-1',
        topic: 'orders.events',
        traceId: TRACE_ID,
        at: AT,
      });
      const action = items.find((r: { action: string }) => r.action === 'UserAction');
      expect(action).to.include({ actor: 'alice', resource: 'order/o-1', traceId: 'abc123' });
      const payment = items.find((r: { action: string }) => r.action === 'PaymentAuthorized');
      expect(payment).to.include({ actor: 'service:publisher', resource: 'payment/pay-1' });
      expect(await verify()).to.deep.equal({ ok: true, records: 4 });
    });

    it('then the records can be filtered by actor and resource and paged by a seq cursor', async () => {
      await publishSamples();
      const alice = await request(fx.app).get('/audit?actor=alice').expect(200);
      expect(alice.body.total).to.equal(2);
      expect(alice.body).to.not.have.property('older');
      const seqs = alice.body.items.map((r: { seq: number }) => r.seq);
      const first = await request(fx.app).get('/audit?resource=order%2Fo-1&actor=alice&limit=1').expect(200);
      expect(first.body).to.include({ total: 2, limit: 1, older: Math.max(...seqs) });
      expect(first.body).to.not.have.property('newer');
      const second = await request(fx.app)
        .get(`/audit?resource=order%2Fo-1&actor=alice&limit=1&before=${first.body.older}`)
        .expect(200);
      expect(second.body.items.map((r: { seq: number }) => r.seq)).to.deep.equal([Math.min(...seqs)]);
      expect(second.body).to.include({ newer: Math.min(...seqs) });
      expect(second.body).to.not.have.property('older');
      const back = await request(fx.app)
        .get(`/audit?resource=order%2Fo-1&actor=alice&limit=1&after=${second.body.newer}`)
        .expect(200);
      expect(back.body.items).to.deep.equal(first.body.items);
      const none = await request(fx.app).get('/audit?actor=nobody').expect(200);
      expect(none.body).to.deep.include({ items: [], total: 0 });
    });

    it('then records appended while an operator pages never shift the older pages: no record is seen twice or skipped', async () => {
      await publishPayments(12);
      const seen: number[] = [];
      let cursor: number | undefined;
      for (let pageNo = 0; pageNo < 10; pageNo++) {
        const res = await request(fx.app)
          .get(`/audit?limit=5${cursor === undefined ? '' : `&before=${cursor}`}`)
          .expect(200);
        seen.push(...res.body.items.map((r: { seq: number }) => r.seq));
        cursor = res.body.older as number | undefined;
        if (cursor === undefined) break;
        // Every admin read appends a record (through the gateway): here, two more arrive between pages.
        const before = await total();
        for (let i = 0; i < 2; i++)
          await fx.bus.publish('payments.events', paymentEvent(100 + pageNo * 2 + i));
        await eventually(async () => (await total()) === before + 2, 'the appended records');
      }
      expect(seen).to.deep.equal(Array.from({ length: 12 }, (_, i) => 12 - i));
    });

    it('then both cursors give the records between them, and a cursor that is not a seq is 400', async () => {
      await publishPayments(6);
      const between = await request(fx.app).get('/audit?after=2&before=6&limit=2').expect(200);
      expect(between.body.items.map((r: { seq: number }) => r.seq)).to.deep.equal([4, 3]);
      expect(between.body).to.include({ older: 3, newer: 4 });
      await request(fx.app).get('/audit?before=x').expect(400).expect('content-type', PROBLEM);
      await request(fx.app).get('/audit?before=0').expect(400).expect('content-type', PROBLEM);
      await request(fx.app).get('/audit?page=2').expect(400).expect('content-type', PROBLEM);
    });

    it('then the same envelope delivered twice is one record', async () => {
      const envelope = await fx.bus.publish('payments.events', paymentEvent(1));
      await fx.bus.publish('payments.events', envelope);
      await fx.bus.publish('payments.events', paymentEvent(2));
      await eventually(async () => (await total()) === 2, 'two records');
      const ids = (await request(fx.app).get('/audit').expect(200)).body.items.map(
        (r: { id: string }) => r.id,
      );
      expect(ids.filter((id: string) => id === envelope.id)).to.have.length(1);
      expect(await verify()).to.deep.equal({ ok: true, records: 2 });
    });
  });

  describe('when a stored record is altered', () => {
    beforeEach(async () => (fx = await auditFixture(backend)));

    it('then verify names exactly that record with hash mismatch', async () => {
      await publishPayments(5);
      const target = await recordAt(3);
      await tamper(3, { actor: 'mallory' });
      expect(await verify()).to.deep.equal({
        ok: false,
        records: 5,
        firstInvalid: { seq: 3, id: target.id, reason: 'hash mismatch' },
      });
    });

    it('then changed data is a hash mismatch too', async () => {
      await publishPayments(3);
      const target = await recordAt(2);
      await tamper(2, { data: { paymentId: 'pay-2', orderId: 'o-2', amountCents: 1, currency: 'USD' } });
      expect((await verify()).firstInvalid).to.deep.equal({ seq: 2, id: target.id, reason: 'hash mismatch' });
    });

    it('then a record whose own hash no longer matches is named, even if the next link is also broken', async () => {
      await publishPayments(4);
      const target = await recordAt(2);
      await tamper(2, { hash: 'f'.repeat(64) });
      expect((await verify()).firstInvalid).to.deep.equal({ seq: 2, id: target.id, reason: 'hash mismatch' });
    });

    it('then a record forged and re-sealed breaks the link of the next one', async () => {
      await publishPayments(3);
      const forged = { ...(await recordAt(2)), actor: 'mallory' };
      const { hash: _old, ...rest } = forged;
      await tamper(2, { actor: 'mallory', hash: hashOf(rest) });
      const next = await recordAt(3);
      expect((await verify()).firstInvalid).to.deep.equal({ seq: 3, id: next.id, reason: 'broken link' });
    });

    it('then a record renumbered out of place is a gap in sequence', async () => {
      await publishPayments(3);
      const target = await recordAt(3);
      await tamper(3, { seq: 7 });
      expect((await verify()).firstInvalid).to.deep.equal({
        seq: 7,
        id: target.id,
        reason: 'gap in sequence',
      });
    });
  });

  describe('when an event has an unknown version or invalid data', () => {
    beforeEach(async () => (fx = await auditFixture(backend)));

    it('then it goes to the dead-letter stream with the reason and no record is written', async () => {
      await fx.bus.publish('payments.events', { ...paymentEvent(1), version: 9 });
      await fx.bus.publish('orders.events', {
        type: 'OrderConfirmed',
        data: { orderId: 'o-1', userId: 'alice', orderVersion: 0 },
      });
      await fx.bus.publish('catalog.events', { type: 'CatalogExploded', data: {} });
      await eventually(
        async () => (await fx.bus.deadLetters('payments.events')).length === 1,
        'the payments dead letter',
      );
      await eventually(
        async () => (await fx.bus.deadLetters('orders.events')).length === 1,
        'the orders dead letter',
      );
      await eventually(
        async () => (await fx.bus.deadLetters('catalog.events')).length === 1,
        'the catalog dead letter',
      );
      const [version] = await fx.bus.deadLetters('payments.events');
      expect(version.group).to.equal('audit');
      expect(version.reason).to.contain('unknown version 9 of PaymentCaptured');
      const [invalid] = await fx.bus.deadLetters('orders.events');
      expect(invalid.reason).to.contain('OrderConfirmed v1 failed validation').and.contain('orderVersion');
      const [unknown] = await fx.bus.deadLetters('catalog.events');
      expect(unknown.reason).to.contain('unknown event type CatalogExploded');
      expect(await total()).to.equal(0);
    });
  });

  describe('when two consumers of the group append at once', () => {
    beforeEach(async () => (fx = await auditFixture(backend, 2)));

    it('then every event is recorded once and the chain verifies', async () => {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => fx.bus.publish('payments.events', paymentEvent(i))),
      );
      await eventually(async () => (await total()) === 40, '40 records', 15_000);
      expect(await verify()).to.deep.equal({ ok: true, records: 40 });
    });
  });

  describe('bad input', () => {
    beforeEach(async () => (fx = await auditFixture(backend)));

    for (const query of [
      'page=0',
      'page=abc',
      'limit=0',
      'limit=101',
      'limit=-5',
      `actor=${'a'.repeat(300)}`,
      'resource=',
      'extra=1',
    ]) {
      it(`when GET /audit?${query.slice(0, 30)}, then 400 problem+json and the log is unchanged`, async () => {
        await publishPayments(1);
        await request(fx.app).get(`/audit?${query}`).expect(400).expect('content-type', PROBLEM);
        expect(await verify()).to.deep.equal({ ok: true, records: 1 });
      });
    }

    it('when the log is written to over HTTP, then 405 problem+json allowing only reads, and the log is unchanged', async () => {
      const post = await request(fx.app)
        .post('/audit')
        .send({ actor: 'mallory' })
        .expect(405)
        .expect('content-type', PROBLEM);
      expect(post.headers.allow).to.equal('GET, HEAD');
      await request(fx.app).delete('/audit').expect(405).expect('content-type', PROBLEM);
      expect(await total()).to.equal(0);
    });

    it('when the OpenAPI document is read, then both operations are described', async () => {
      const doc = (await request(fx.app).get('/openapi.json').expect(200)).body;
      expect(doc.paths['/audit'].get.operationId).to.equal('listAuditRecords');
      expect(doc.paths['/audit/verify'].get.operationId).to.equal('verifyAuditChain');
    });
  });
});
