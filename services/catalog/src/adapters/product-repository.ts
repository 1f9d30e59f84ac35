import type { OutboxEntry, OutboxStore } from '@meshmart/kit/events';
import type { Product, ProductPatch, ProductQuery } from '../domain/product.ts';

export interface ProductList {
  readonly items: Product[];
  readonly total: number;
}

/** Where products live. Each product document also carries its outbox, so a change and its event are one write. */
export interface ProductRepository {
  findById(id: string): Promise<Product | undefined>;
  /** The products among `ids` (unknown ids are left out), in one read. */
  findByIds(ids: readonly string[]): Promise<Product[]>;
  /** One page, sorted by name then id, and how many products match in all. */
  list(query: ProductQuery): Promise<ProductList>;
  /** Products per category id (categories with none are absent). */
  countByCategory(): Promise<Map<string, number>>;
  /**
   * Applies the patch and queues the events made from the product as it is after the change, in the same write
   * (compare-and-set, so concurrent updates each describe exactly what they wrote); undefined for an unknown id.
   */
  update(id: string, patch: ProductPatch, eventsFor: EventsFor): Promise<Product | undefined>;
  /** Inserts the products that are missing, never overwriting one; safe to run from several replicas at once. */
  seed(products: readonly Product[]): Promise<number>;
  count(): Promise<number>;
  /** The outbox the relay drains. */
  readonly outbox: OutboxStore;
}

export type EventsFor = (after: Product) => readonly OutboxEntry[];

export const PRODUCTS_COLLECTION = 'products';
