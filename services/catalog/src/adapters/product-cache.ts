/** What a cache lookup found, and the generation it was made in (pass it back to `store`). */
export interface CacheLookup<T> {
  readonly value?: T;
  readonly generation: string;
}

/**
 * A cache-aside store for product reads, with a TTL on every entry. Entries live under a generation: `invalidate`
 * starts a new one, so every cached page goes stale at once, and a reader that looked up before an invalidation
 * and stores what it read afterwards writes into the old generation, where nobody reads it (no stale write-back).
 */
export interface ProductCache {
  /** `key` names the entry within the generation, e.g. `product:<id>` or `list:<query>`. */
  lookup<T>(key: string): Promise<CacheLookup<T>>;
  store(key: string, generation: string, value: unknown): Promise<void>;
  /** Drops the product's entry and starts a new generation (all lists and categories go stale). */
  invalidate(productId: string): Promise<void>;
}

export const productKey = (id: string): string => `product:${id}`;
export const listKey = (query: string): string => `list:${query}`;
export const CATEGORIES_KEY = 'categories';
