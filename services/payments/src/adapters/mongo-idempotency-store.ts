import type { Collection, Db } from 'mongodb';
import type { BeginResult, IdempotencyStore, StoredResponse } from './idempotency-store.ts';

interface IdempotencyDocument {
  _id: string;
  requestHash: string;
  state: 'pending' | 'done';
  token: string;
  leaseUntil: Date;
  status?: number;
  body?: unknown;
  createdAt: Date;
}

const DUPLICATE_KEY = 11000;

/** The unique `_id` makes the first insert the owner of the key; no TTL index (FerretDB has none). */
export class MongoIdempotencyStore implements IdempotencyStore {
  private readonly keys: Collection<IdempotencyDocument>;

  constructor(db: Db) {
    this.keys = db.collection<IdempotencyDocument>('idempotency');
  }

  async ensureIndexes(): Promise<void> {
    await this.keys.createIndex({ createdAt: 1 }, { name: 'createdAt' });
  }

  async begin(key: string, requestHash: string, token: string, leaseMs: number): Promise<BeginResult> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = new Date();
      const leaseUntil = new Date(now.getTime() + leaseMs);
      try {
        await this.keys.insertOne({
          _id: key,
          requestHash,
          state: 'pending',
          token,
          leaseUntil,
          createdAt: now,
        });
        return { kind: 'started', resumed: false };
      } catch (err) {
        if ((err as { code?: unknown }).code !== DUPLICATE_KEY) throw err;
      }
      const existing = await this.keys.findOne({ _id: key });
      if (!existing) continue; // abandoned between our two calls
      if (existing.requestHash !== requestHash) return { kind: 'mismatch' };
      if (existing.state === 'done') {
        return { kind: 'completed', response: { status: existing.status ?? 200, body: existing.body } };
      }
      if (existing.leaseUntil.getTime() >= now.getTime()) return { kind: 'in-progress' };
      const takeover = await this.keys.updateOne(
        { _id: key, state: 'pending', token: existing.token },
        { $set: { token, leaseUntil } },
      );
      if (takeover.modifiedCount === 1) return { kind: 'started', resumed: true };
    }
    return { kind: 'in-progress' };
  }

  async complete(key: string, token: string, response: StoredResponse): Promise<void> {
    await this.keys.updateOne(
      { _id: key, state: 'pending', token },
      { $set: { state: 'done', status: response.status, body: response.body } },
    );
  }

  async abandon(key: string, token: string): Promise<void> {
    await this.keys.deleteOne({ _id: key, state: 'pending', token });
  }

  async purgeCompleted(before: Date): Promise<number> {
    const result = await this.keys.deleteMany({ state: 'done', createdAt: { $lt: before } });
    return result.deletedCount;
  }
}
