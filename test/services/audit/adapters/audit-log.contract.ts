import { expect } from 'chai';
import type { AuditLog } from '../../../../services/audit/src/adapters/audit-log.ts';
import { GENESIS_HASH, seal, type AuditRecord } from '../../../../services/audit/src/domain/audit-record.ts';

function record(seq: number, id: string, actor = 'alice', resource = 'order/o-1'): AuditRecord {
  return seal(
    {
      id,
      at: '2026-01-01T00:00:00.000Z',
      actor,
      action: 'X',
      resource,
      topic: 't',
      traceId: null,
      data: { n: seq },
    },
    seq,
    GENESIS_HASH,
    '2026-01-01T00:00:00.000Z',
  );
}

/** What every AuditLog must do; run against the twin and the Mongo adapter. */
export function auditLogContract(make: () => Promise<{ log: AuditLog; close: () => Promise<void> }>) {
  let log: AuditLog;
  let close: () => Promise<void>;
  beforeEach(async () => ({ log, close } = await make()));
  afterEach(() => close());

  describe('when the log is empty', () => {
    it('then it has no head and scans nothing', async () => {
      expect(await log.head()).to.equal(undefined);
      const all = [];
      for await (const r of log.scan()) all.push(r);
      expect(all).to.deep.equal([]);
    });
  });

  describe('when records are inserted', () => {
    it('then the head is the highest seq and records read back equal', async () => {
      const a = record(1, 'a');
      const b = record(2, 'b');
      expect(await log.insert(b)).to.equal('inserted');
      expect(await log.insert(a)).to.equal('inserted');
      expect(await log.head()).to.deep.equal(b);
      const all = [];
      for await (const r of log.scan()) all.push(r);
      expect(all).to.deep.equal([a, b]);
    });
  });

  describe('when a seq is taken', () => {
    it("then inserting another event at it is 'seq-taken' and nothing changes", async () => {
      await log.insert(record(1, 'a'));
      expect(await log.insert(record(1, 'b'))).to.equal('seq-taken');
      expect((await log.list({ limit: 10 })).total).to.equal(1);
    });
  });

  describe('when an event id is already recorded', () => {
    it("then inserting it again, at any seq, is 'duplicate'", async () => {
      await log.insert(record(1, 'a'));
      expect(await log.insert(record(2, 'a'))).to.equal('duplicate');
      expect(await log.insert(record(1, 'a'))).to.equal('duplicate');
    });
  });

  describe('when listing', () => {
    it('then records come newest first, filtered and paged by seq cursors both ways, with the total', async () => {
      await log.insert(record(1, 'a', 'alice', 'order/o-1'));
      await log.insert(record(2, 'b', 'bob', 'order/o-2'));
      await log.insert(record(3, 'c', 'alice', 'order/o-2'));
      await log.insert(record(4, 'd', 'alice', 'order/o-1'));
      const alice = await log.list({ actor: 'alice', limit: 2 });
      expect(alice.total).to.equal(3);
      expect(alice.items.map((r) => r.id)).to.deep.equal(['d', 'c']);
      expect(alice).to.include({ older: 3 }).and.not.have.property('newer');
      const older = await log.list({ actor: 'alice', before: alice.older!, limit: 2 });
      expect(older.items.map((r) => r.id)).to.deep.equal(['a']);
      expect(older).to.include({ newer: 1 }).and.not.have.property('older');
      const newer = await log.list({ actor: 'alice', after: older.newer!, limit: 2 });
      expect(newer.items.map((r) => r.id)).to.deep.equal(['d', 'c']);
      expect(newer).to.include({ older: 3 }).and.not.have.property('newer');
      const both = await log.list({ actor: 'alice', resource: 'order/o-2', limit: 10 });
      expect(both.items.map((r) => r.id)).to.deep.equal(['c']);
    });
  });

  describe('when there are more records than one scan batch', () => {
    it('then scan still yields every one in order', async () => {
      for (let i = 1; i <= 520; i++) await log.insert(record(i, `e${i}`));
      let expected = 1;
      for await (const r of log.scan()) expect(r.seq).to.equal(expected++);
      expect(expected).to.equal(521);
    });
  });
}
