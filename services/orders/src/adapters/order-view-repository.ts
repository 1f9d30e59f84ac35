import type { OrderView } from '../domain/order-aggregate.ts';

export interface OrderListQuery {
  readonly userId?: string;
  readonly page: number;
  readonly limit: number;
}

export interface OrderPage {
  readonly items: OrderView[];
  readonly total: number;
}

/** 'written': the view is stored; 'stale': a view at this version or later was already there (left as is). */
export type PutOutcome = 'written' | 'stale';

/** The read model (CQRS query side): one document per order, written only by the projector and the rebuild. */
export interface OrderViewRepository {
  get(orderId: string): Promise<OrderView | undefined>;
  /** Newest first (createdAt descending, then id). */
  list(query: OrderListQuery): Promise<OrderPage>;
  /**
   * Stores the view unless the stored one has the same or a later version: versions only move forward. `absent`: the
   * caller has just seen no view for this order, so an insert is tried first (a hint, never needed for correctness).
   */
  put(view: OrderView, options?: { readonly absent?: boolean }): Promise<PutOutcome>;
  /** Removes every view (before a rebuild); returns how many. */
  clear(): Promise<number>;
}
