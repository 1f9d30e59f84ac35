import type { OutboxEntry } from '@meshmart/kit/events';
import type { StockLevel } from '../domain/stock.ts';

/**
 * Stock per product. Every unit movement for a reservation is one atomic, conditional change of one product's stock
 * that also adds or removes the reservation id in its `holds`: a hold is present exactly while its units are counted
 * in `reserved`, so each movement happens at most once and anyone can tell whether it happened. A reservation's
 * quantity of a product never changes, so a hold needs no more than the id.
 */
export interface StockRepository {
  get(productId: string): Promise<StockLevel | undefined>;
  list(productIds: readonly string[]): Promise<StockLevel[]>;
  /** Sets the units available for sale (creating the product), with the events of the change. */
  setAvailable(productId: string, available: number, outbox: readonly OutboxEntry[]): Promise<StockLevel>;
  /** Creates the product with `available` units unless it exists; false when it existed. */
  seed(productId: string, available: number, outbox: readonly OutboxEntry[]): Promise<boolean>;
  /**
   * available -= quantity, reserved += quantity, adds the hold; only when `available >= quantity` and the hold is
   * absent. False otherwise (not enough units, unknown product, or already held).
   */
  hold(productId: string, reservationId: string, quantity: number): Promise<boolean>;
  /** reserved -= quantity and drops the hold (the units are sold); false when there is no such hold. */
  consumeHold(productId: string, reservationId: string, quantity: number): Promise<boolean>;
  /** available += quantity, reserved -= quantity and drops the hold; false when there is no such hold. */
  returnHold(productId: string, reservationId: string, quantity: number): Promise<boolean>;
  /** Products with at least one hold, for the sweeper's audit. */
  withHolds(limit: number): Promise<{ productId: string; holds: string[] }[]>;
}
