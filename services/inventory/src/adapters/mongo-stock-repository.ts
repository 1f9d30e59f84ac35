import type { Db } from 'mongodb';
import type { OutboxEntry } from '@meshmart/kit/events';
import type { StockLevel } from '../domain/stock.ts';
import type { StockRepository } from './stock-repository.ts';
import { STOCK_COLLECTION } from './in-memory-stock-repository.ts';
import {
  MongoVersionedCollection,
  type MongoVersionedCollectionOptions,
} from './mongo-versioned-collection.ts';

export interface StockState {
  available: number;
  reserved: number;
  /** Reservations whose units are counted in `reserved` (see StockRepository). */
  holds: string[];
}

/** Stock as insert-only versions per product (see MongoVersionedCollection for why). */
export class MongoStockRepository implements StockRepository {
  readonly versions: MongoVersionedCollection<StockState>;

  constructor(db: Db, options: MongoVersionedCollectionOptions = {}) {
    this.versions = new MongoVersionedCollection<StockState>(db, STOCK_COLLECTION, options);
  }

  ensureIndexes(): Promise<void> {
    return this.versions.ensureIndexes([{ 'state.holds': 1 }]);
  }

  async get(productId: string): Promise<StockLevel | undefined> {
    const latest = await this.versions.latest(productId);
    return latest ? level(productId, latest.state) : undefined;
  }

  async list(productIds: readonly string[]): Promise<StockLevel[]> {
    const levels = await Promise.all(productIds.map((id) => this.get(id)));
    return levels.filter((l): l is StockLevel => l !== undefined);
  }

  async setAvailable(
    productId: string,
    available: number,
    outbox: readonly OutboxEntry[],
  ): Promise<StockLevel> {
    const state = await this.versions.change(productId, (cur) => ({
      state: { available, reserved: cur?.reserved ?? 0, holds: cur?.holds ?? [] },
      outbox,
    }));
    return level(productId, state!);
  }

  async seed(productId: string, available: number, outbox: readonly OutboxEntry[]): Promise<boolean> {
    const state = await this.versions.change(productId, (cur) =>
      cur ? undefined : { state: { available, reserved: 0, holds: [] }, outbox },
    );
    return state !== undefined;
  }

  async hold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    const state = await this.versions.change(productId, (cur) => {
      if (!cur || cur.available < quantity || cur.holds.includes(reservationId)) return undefined;
      return {
        state: {
          available: cur.available - quantity,
          reserved: cur.reserved + quantity,
          holds: [...cur.holds, reservationId],
        },
      };
    });
    return state !== undefined;
  }

  consumeHold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    return this.release(productId, reservationId, (cur) => ({ ...cur, reserved: cur.reserved - quantity }));
  }

  returnHold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    return this.release(productId, reservationId, (cur) => ({
      ...cur,
      available: cur.available + quantity,
      reserved: cur.reserved - quantity,
    }));
  }

  async withHolds(limit: number): Promise<{ productId: string; holds: string[] }[]> {
    const found = await this.versions.find(
      { 'state.holds.0': { $exists: true } },
      (s) => s.holds.length > 0,
      limit,
    );
    return found.map((f) => ({ productId: f.key, holds: [...f.state.holds] }));
  }

  private async release(
    productId: string,
    reservationId: string,
    apply: (cur: StockState) => StockState,
  ): Promise<boolean> {
    const state = await this.versions.change(productId, (cur) => {
      if (!cur?.holds.includes(reservationId)) return undefined;
      const next = apply(cur);
      return { state: { ...next, holds: cur.holds.filter((h) => h !== reservationId) } };
    });
    return state !== undefined;
  }
}

function level(productId: string, state: StockState): StockLevel {
  return { productId, available: state.available, reserved: state.reserved };
}
