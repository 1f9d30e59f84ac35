import { InMemoryOutboxStore, type OutboxDocKey, type OutboxEntry } from '@meshmart/kit/events';
import type { HistoryEntry, Payment } from '../domain/payment.ts';
import type { PaymentRepository } from './payment-repository.ts';

export class InMemoryPaymentRepository implements PaymentRepository {
  readonly outbox = new InMemoryOutboxStore();

  outboxKey(paymentId: string): OutboxDocKey {
    return { collection: 'payments', id: paymentId };
  }
  private readonly payments = new Map<string, Payment>();

  /** Payments stored (for tests). */
  get size(): number {
    return this.payments.size;
  }

  insert(payment: Payment, events: readonly OutboxEntry[]): Promise<void> {
    if (this.payments.has(payment.id)) return Promise.reject(new Error(`payment ${payment.id} exists`));
    this.payments.set(payment.id, structuredClone(payment));
    this.outbox.add(this.outboxKey(payment.id), events);
    return Promise.resolve();
  }

  update(
    next: Payment,
    expectedVersion: number,
    _entry: HistoryEntry,
    events: readonly OutboxEntry[],
  ): Promise<boolean> {
    const current = this.payments.get(next.id);
    if (current?.version !== expectedVersion) return Promise.resolve(false);
    this.payments.set(next.id, structuredClone(next));
    this.outbox.add(this.outboxKey(next.id), events);
    return Promise.resolve(true);
  }

  get(id: string): Promise<Payment | undefined> {
    const p = this.payments.get(id);
    return Promise.resolve(p ? structuredClone(p) : undefined);
  }

  findByOrder(orderId: string): Promise<Payment[]> {
    const found = [...this.payments.values()]
      .filter((p) => p.orderId === orderId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return Promise.resolve(found.map((p) => structuredClone(p)));
  }
}
