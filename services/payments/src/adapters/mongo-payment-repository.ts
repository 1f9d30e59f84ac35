import type { Collection, Db, Document } from 'mongodb';
import {
  MongoOutboxStore,
  withOutbox,
  withOutboxUpdate,
  type OutboxDocKey,
  type OutboxEntry,
  type OutboxStore,
  type PendingOutboxEntry,
} from '@meshmart/kit/events';
import type { HistoryEntry, Payment } from '../domain/payment.ts';
import { KeyedLock } from '@meshmart/kit';
import type { PaymentRepository } from './payment-repository.ts';

interface PaymentDocument extends Omit<Payment, 'id'> {
  _id: string;
  outbox: OutboxEntry[];
  outboxPending?: boolean;
}

/**
 * FerretDB 1.24 (the test server) applies an update as read-modify-write without a compare-and-set: concurrent
 * updates of one document can all report success while some are lost (50 concurrent `$inc`s leave about half).
 * So every write to an existing payment, the relay's included, runs under a per-document lock in this process.
 * MongoDB and DocumentDB need no lock (the version filter suffices); several replicas on FerretDB remain unsafe.
 */
export class MongoPaymentRepository implements PaymentRepository {
  readonly outbox: OutboxStore;
  private readonly payments: Collection<PaymentDocument>;
  private readonly lock = new KeyedLock();

  constructor(db: Db) {
    this.payments = db.collection<PaymentDocument>('payments');
    const relayed = new MongoOutboxStore(this.payments as unknown as Collection<Document>);
    this.outbox = {
      pending: (limit) => relayed.pending(limit),
      written: (key, entries) => relayed.written(key, entries),
      markSent: (entries: readonly PendingOutboxEntry[]) =>
        this.lock.runAll(
          entries.map((e) => String(e.key.id)),
          () => relayed.markSent(entries),
        ),
    };
  }

  outboxKey(paymentId: string): OutboxDocKey {
    return { collection: this.payments.collectionName, id: paymentId };
  }

  async ensureIndexes(): Promise<void> {
    await this.payments.createIndex({ orderId: 1, createdAt: 1 }, { name: 'orderId_createdAt' });
    await this.payments.createIndex({ 'outbox.id': 1 }, { name: 'outbox_id', sparse: true });
    await this.payments.createIndex({ outboxPending: 1 }, { name: 'outbox_pending' });
  }

  async insert(payment: Payment, events: readonly OutboxEntry[]): Promise<void> {
    const { id, ...rest } = payment;
    await this.payments.insertOne(withOutbox({ _id: id, ...rest, outbox: [] as OutboxEntry[] }, events));
  }

  async update(
    next: Payment,
    expectedVersion: number,
    entry: HistoryEntry,
    events: readonly OutboxEntry[],
  ): Promise<boolean> {
    const { status, capturedCents, refundedCents, version, updatedAt } = next;
    return this.lock.run(next.id, async () => {
      const result = await this.payments.updateOne(
        { _id: next.id, version: expectedVersion },
        withOutboxUpdate(
          { $set: { status, capturedCents, refundedCents, version, updatedAt }, $push: { history: entry } },
          events,
        ),
      );
      return result.modifiedCount === 1;
    });
  }

  async get(id: string): Promise<Payment | undefined> {
    const doc = await this.payments.findOne({ _id: id }, { projection: { outbox: 0 } });
    return doc ? fromDocument(doc) : undefined;
  }

  async findByOrder(orderId: string): Promise<Payment[]> {
    const docs = await this.payments
      .find({ orderId }, { projection: { outbox: 0 } })
      .sort({ createdAt: 1 })
      .limit(100)
      .toArray();
    return docs.map(fromDocument);
  }
}

function fromDocument(doc: Omit<PaymentDocument, 'outbox'> & { outbox?: unknown }): Payment {
  const { _id, outbox: _outbox, outboxPending: _pending, ...rest } = doc;
  return { id: _id, ...rest };
}
