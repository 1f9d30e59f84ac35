import type { BeginResult, IdempotencyStore, StoredResponse } from './idempotency-store.ts';

interface Entry {
  requestHash: string;
  token: string;
  leaseUntil: number;
  createdAt: number;
  response?: StoredResponse;
}

export class InMemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /** Keys held (for tests). */
  get size(): number {
    return this.entries.size;
  }

  begin(key: string, requestHash: string, token: string, leaseMs: number): Promise<BeginResult> {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { requestHash, token, leaseUntil: now + leaseMs, createdAt: now });
      return Promise.resolve({ kind: 'started', resumed: false });
    }
    if (entry.requestHash !== requestHash) return Promise.resolve({ kind: 'mismatch' });
    if (entry.response)
      return Promise.resolve({ kind: 'completed', response: structuredClone(entry.response) });
    if (entry.leaseUntil >= now) return Promise.resolve({ kind: 'in-progress' });
    entry.token = token;
    entry.leaseUntil = now + leaseMs;
    return Promise.resolve({ kind: 'started', resumed: true });
  }

  complete(key: string, token: string, response: StoredResponse): Promise<void> {
    const entry = this.entries.get(key);
    if (entry?.token === token && !entry.response) entry.response = structuredClone(response);
    return Promise.resolve();
  }

  abandon(key: string, token: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry?.token === token && !entry.response) this.entries.delete(key);
    return Promise.resolve();
  }

  purgeCompleted(before: Date): Promise<number> {
    let n = 0;
    for (const [key, entry] of this.entries) {
      if (entry.response && entry.createdAt < before.getTime()) {
        this.entries.delete(key);
        n++;
      }
    }
    return Promise.resolve(n);
  }
}
