import type { CachedResponse, ResponseCache } from './response-cache.ts';

/** The in-process twin: a bounded map with expiry; the oldest entry goes first when full. */
export class InMemoryResponseCache implements ResponseCache {
  private readonly entries = new Map<string, { value: CachedResponse; expiresAt: number }>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(props: { now?: () => number; maxEntries?: number } = {}) {
    this.now = props.now ?? Date.now;
    this.maxEntries = props.maxEntries ?? 10_000;
  }

  get(key: string): Promise<CachedResponse | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return Promise.resolve(undefined);
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(entry.value);
  }

  set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void> {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 });
    return Promise.resolve();
  }

  purge(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }
}
