import type { InMemoryOutboxStore, OutboxEntry } from '@meshmart/kit/events';
import type { StockLevel } from '../domain/stock.ts';
import type { StockRepository } from './stock-repository.ts';

interface StockDoc {
  available: number;
  reserved: number;
  holds: string[];
}

export const STOCK_COLLECTION = 'stock';

/** The twin: each method checks and changes a document with no await in between, so it is atomic like Mongo's. */
export class InMemoryStockRepository implements StockRepository {
  private readonly docs = new Map<string, StockDoc>();

  constructor(private readonly outbox: InMemoryOutboxStore) {}

  get(productId: string): Promise<StockLevel | undefined> {
    const doc = this.docs.get(productId);
    return Promise.resolve(doc ? level(productId, doc) : undefined);
  }

  list(productIds: readonly string[]): Promise<StockLevel[]> {
    const out: StockLevel[] = [];
    for (const id of productIds) {
      const doc = this.docs.get(id);
      if (doc) out.push(level(id, doc));
    }
    return Promise.resolve(out);
  }

  setAvailable(productId: string, available: number, outbox: readonly OutboxEntry[]): Promise<StockLevel> {
    const doc = this.docs.get(productId) ?? { available: 0, reserved: 0, holds: [] };
    doc.available = available;
    this.docs.set(productId, doc);
    this.addOutbox(productId, outbox);
    return Promise.resolve(level(productId, doc));
  }

  seed(productId: string, available: number, outbox: readonly OutboxEntry[]): Promise<boolean> {
    if (this.docs.has(productId)) return Promise.resolve(false);
    this.docs.set(productId, { available, reserved: 0, holds: [] });
    this.addOutbox(productId, outbox);
    return Promise.resolve(true);
  }

  hold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    const doc = this.docs.get(productId);
    if (!doc || doc.available < quantity || doc.holds.includes(reservationId)) return Promise.resolve(false);
    doc.available -= quantity;
    doc.reserved += quantity;
    doc.holds.push(reservationId);
    return Promise.resolve(true);
  }

  consumeHold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    const doc = this.held(productId, reservationId);
    if (!doc) return Promise.resolve(false);
    doc.reserved -= quantity;
    return Promise.resolve(true);
  }

  returnHold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    const doc = this.held(productId, reservationId);
    if (!doc) return Promise.resolve(false);
    doc.available += quantity;
    doc.reserved -= quantity;
    return Promise.resolve(true);
  }

  withHolds(limit: number): Promise<{ productId: string; holds: string[] }[]> {
    const out: { productId: string; holds: string[] }[] = [];
    for (const [productId, doc] of this.docs) {
      if (out.length >= limit) break;
      if (doc.holds.length > 0) out.push({ productId, holds: [...doc.holds] });
    }
    return Promise.resolve(out);
  }

  /** Removes the hold and answers its document, or undefined when the hold is absent. */
  private held(productId: string, reservationId: string): StockDoc | undefined {
    const doc = this.docs.get(productId);
    const at = doc ? doc.holds.indexOf(reservationId) : -1;
    if (!doc || at < 0) return undefined;
    doc.holds.splice(at, 1);
    return doc;
  }

  private addOutbox(productId: string, outbox: readonly OutboxEntry[]): void {
    if (outbox.length > 0) this.outbox.add({ collection: STOCK_COLLECTION, id: productId }, outbox);
  }
}

function level(productId: string, doc: StockDoc): StockLevel {
  return { productId, available: doc.available, reserved: doc.reserved };
}
