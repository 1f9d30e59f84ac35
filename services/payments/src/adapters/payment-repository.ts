import type { OutboxDocKey, OutboxEntry, OutboxStore } from '@meshmart/kit/events';
import type { HistoryEntry, Payment } from '../domain/payment.ts';

/** Payments, each document carrying the outbox of the events its changes produced. */
export interface PaymentRepository {
  /** Where the relay finds the unpublished events. */
  readonly outbox: OutboxStore;
  /** The document a payment's outbox entries are in (what the relay is handed after a write). */
  outboxKey(paymentId: string): OutboxDocKey;
  insert(payment: Payment, events: readonly OutboxEntry[]): Promise<void>;
  /**
   * Replaces the state if the stored version is still `expectedVersion`, appending `entry` to the history and the
   * events to the outbox in the same write. Resolves false when someone else changed it first.
   */
  update(
    next: Payment,
    expectedVersion: number,
    entry: HistoryEntry,
    events: readonly OutboxEntry[],
  ): Promise<boolean>;
  get(id: string): Promise<Payment | undefined>;
  /** Oldest first. */
  findByOrder(orderId: string): Promise<Payment[]>;
}
