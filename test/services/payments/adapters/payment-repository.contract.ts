import { expect } from 'chai';
import { outboxEntry } from '@meshmart/kit/events';
import type { PaymentRepository } from '../../../../services/payments/src/adapters/payment-repository.ts';
import { authorized, capture, type Payment } from '../../../../services/payments/src/domain/payment.ts';

const AT = '2026-01-01T00:00:00.000Z';

function newPayment(id: string, orderId = 'o-1'): Payment {
  return authorized({ id, orderId, amountCents: 1000, currency: 'USD', at: AT }).next;
}

function event(paymentId: string) {
  return outboxEntry(
    'payments.events',
    { type: 'PaymentAuthorized', data: { paymentId, orderId: 'o-1', amountCents: 1000, currency: 'USD' } },
    'payments',
  );
}

/** What every PaymentRepository must do; run against the twin and the Mongo adapter. */
export function paymentRepositoryContract(
  make: () => Promise<{ repo: PaymentRepository; close: () => Promise<void> }>,
) {
  let repo: PaymentRepository;
  let close: () => Promise<void>;
  beforeEach(async () => ({ repo, close } = await make()));
  afterEach(() => close());

  describe('when a payment is inserted', () => {
    it('then it reads back equal, and its event waits in the outbox', async () => {
      const p = newPayment('p-1');
      const e = event('p-1');
      await repo.insert(p, [e]);
      expect(await repo.get('p-1')).to.deep.equal(p);
      const pending = await repo.outbox.pending(10);
      expect(pending.map((x) => x.id)).to.deep.equal([e.id]);
    });
  });

  describe('when a payment does not exist', () => {
    it('then get resolves undefined', async () => {
      expect(await repo.get('nope')).to.equal(undefined);
    });
  });

  describe('when updated at the expected version', () => {
    it('then the new state and history are stored and the event is queued', async () => {
      const p = newPayment('p-2');
      await repo.insert(p, []);
      const change = capture(p, AT, 600);
      expect(await repo.update(change.next, p.version, change.entry, [event('p-2')])).to.equal(true);
      const stored = await repo.get('p-2');
      expect(stored).to.deep.equal(change.next);
      expect(stored!.history).to.have.length(2);
      expect(await repo.outbox.pending(10)).to.have.length(1);
    });
  });

  describe('when updated at a stale version', () => {
    it('then nothing changes and it resolves false', async () => {
      const p = newPayment('p-3');
      await repo.insert(p, []);
      const first = capture(p, AT, 100);
      await repo.update(first.next, p.version, first.entry, []);
      const stale = capture(p, AT, 200);
      expect(await repo.update(stale.next, p.version, stale.entry, [event('p-3')])).to.equal(false);
      expect((await repo.get('p-3'))!.capturedCents).to.equal(100);
      expect(await repo.outbox.pending(10)).to.have.length(0);
    });
  });

  describe("when listing an order's payments", () => {
    it('then only that order’s payments come back, oldest first', async () => {
      await repo.insert({ ...newPayment('a', 'o-9'), createdAt: '2026-01-02T00:00:00.000Z' }, []);
      await repo.insert({ ...newPayment('b', 'o-9'), createdAt: '2026-01-01T00:00:00.000Z' }, []);
      await repo.insert(newPayment('c', 'o-8'), []);
      expect((await repo.findByOrder('o-9')).map((p) => p.id)).to.deep.equal(['b', 'a']);
    });
  });

  describe('when the relay marks events sent while the state changes', () => {
    it('then neither write is lost', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
      for (const id of ids) await repo.insert(newPayment(id), [event(id)]);
      const pending = await repo.outbox.pending(100);
      await Promise.all([
        ...ids.map((id) => {
          const change = capture(newPayment(id), AT);
          return repo.update(change.next, 1, change.entry, [event(id)]);
        }),
        ...pending.map((entry) => repo.outbox.markSent([entry])),
      ]);
      for (const id of ids) expect((await repo.get(id))!.status, id).to.equal('CAPTURED');
      const left = await repo.outbox.pending(100);
      expect(left).to.have.length(20);
      const sent = new Set(pending.map((e) => e.id));
      expect(left.filter((e) => sent.has(e.id))).to.deep.equal([]);
    });
  });
}
