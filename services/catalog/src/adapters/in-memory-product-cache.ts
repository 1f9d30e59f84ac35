import { productKey, type CacheLookup, type ProductCache } from './product-cache.ts';

export interface InMemoryProductCacheProps {
  readonly ttlSeconds: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Entries kept at most; the oldest go first. @default 10000 */
  readonly maxEntries?: number;
}

/** The twin used without REDIS_URL: one process's cache, with the same TTL and generation semantics. */
export class InMemoryProductCache implements ProductCache {
  private readonly entries = new Map<string, { json: string; expiresAt: number }>();
  private generation = 0;
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly props: InMemoryProductCacheProps) {
    this.now = props.now ?? Date.now;
    this.maxEntries = props.maxEntries ?? 10000;
  }

  lookup<T>(key: string): Promise<CacheLookup<T>> {
    const generation = String(this.generation);
    const full = `${generation}:${key}`;
    const entry = this.entries.get(full);
    if (!entry) return Promise.resolve({ generation });
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(full);
      return Promise.resolve({ generation });
    }
    // Stored as JSON so callers never share (and mutate) a cached object, as with Redis.
    return Promise.resolve({ value: JSON.parse(entry.json) as T, generation });
  }

  store(key: string, generation: string, value: unknown): Promise<void> {
    if (generation !== String(this.generation)) return Promise.resolve();
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(`${generation}:${key}`, {
      json: JSON.stringify(value),
      expiresAt: this.now() + this.props.ttlSeconds * 1000,
    });
    return Promise.resolve();
  }

  invalidate(productId: string): Promise<void> {
    this.entries.delete(`${this.generation}:${productKey(productId)}`);
    this.generation++;
    // Nothing can read an older generation again.
    this.entries.clear();
    return Promise.resolve();
  }

  get size(): number {
    return this.entries.size;
  }
}
