import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Collection } from 'mongodb';
import type { EventHandler } from './event-bus.ts';

export type ClaimResult = 'claimed' | 'done' | 'busy';

/** Remembers which messages a group has processed. Keys are `<group>:<event id>`. */
export interface ProcessedStore {
  /**
   * 'claimed': the caller may process it (for up to `leaseMs`, after which another caller may take it over);
   * 'done': already processed; 'busy': another caller holds a live claim.
   */
  claim(key: string, token: string, leaseMs: number): Promise<ClaimResult>;
  /** Processing succeeded: the key is done for good (or for the store's retention). */
  complete(key: string, token: string): Promise<void>;
  /** Processing failed: drops the claim (if still ours) so a redelivery can run. */
  release(key: string, token: string): Promise<void>;
}

export interface IdempotentOptions {
  readonly store: ProcessedStore;
  /** Longest expected processing time; a crashed claimant's key frees up after it. @default 30000 */
  readonly leaseMs?: number;
}

/**
 * Processes each event once per consumer group however often it is delivered. A delivery that meets a live claim
 * fails (and is retried), because acknowledging it would lose the message if the claimant then failed.
 */
export function idempotent<T>(handler: EventHandler<T>, options: IdempotentOptions): EventHandler<T> {
  const leaseMs = options.leaseMs ?? 30_000;
  return async (event, delivery) => {
    const key = `${delivery.group}:${event.id}`;
    const token = randomUUID();
    const claim = await options.store.claim(key, token, leaseMs);
    if (claim === 'done') return;
    if (claim === 'busy')
      throw new Error(`event ${event.id} is being processed by another consumer of ${delivery.group}`);
    try {
      await handler(event, delivery);
    } catch (err) {
      await options.store.release(key, token);
      throw err;
    }
    await options.store.complete(key, token);
  };
}

interface MemoryRecord {
  done: boolean;
  token: string;
  until: number;
}

export interface InMemoryProcessedStoreProps {
  /** Oldest keys are forgotten beyond this. @default 100000 */
  readonly maxEntries?: number;
}

export class InMemoryProcessedStore implements ProcessedStore {
  private readonly records = new Map<string, MemoryRecord>();
  private readonly maxEntries: number;

  constructor(props: InMemoryProcessedStoreProps = {}) {
    this.maxEntries = props.maxEntries ?? 100_000;
  }

  claim(key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    const record = this.records.get(key);
    if (record?.done) return Promise.resolve('done');
    if (record && record.until > Date.now()) return Promise.resolve('busy');
    this.records.delete(key);
    this.records.set(key, { done: false, token, until: Date.now() + leaseMs });
    if (this.records.size > this.maxEntries) this.records.delete(this.records.keys().next().value!);
    return Promise.resolve('claimed');
  }

  complete(key: string, token: string): Promise<void> {
    this.records.set(key, { done: true, token, until: Infinity });
    return Promise.resolve();
  }

  release(key: string, token: string): Promise<void> {
    if (this.records.get(key)?.token === token && !this.records.get(key)?.done) this.records.delete(key);
    return Promise.resolve();
  }
}

export interface RedisProcessedStoreProps {
  readonly client: Redis;
  /** @default 'processed:' */
  readonly keyPrefix?: string;
  /** How long a done key is kept; longer than any redelivery or redrive can come. @default 7 days */
  readonly doneTtlMs?: number;
}

const RELEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** `SET NX PX` claims with a lease; done keys expire after `doneTtlMs`. */
export class RedisProcessedStore implements ProcessedStore {
  private readonly prefix: string;
  private readonly doneTtlMs: number;

  constructor(private readonly props: RedisProcessedStoreProps) {
    this.prefix = props.keyPrefix ?? 'processed:';
    this.doneTtlMs = props.doneTtlMs ?? 7 * 24 * 3600 * 1000;
  }

  async claim(key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    const k = this.prefix + key;
    for (let i = 0; i < 2; i++) {
      if ((await this.props.client.set(k, `pending:${token}`, 'PX', leaseMs, 'NX')) === 'OK')
        return 'claimed';
      const value = await this.props.client.get(k);
      if (value === 'done') return 'done';
      if (value !== null) return 'busy';
      // The holder released or its lease expired between our two calls: try once more.
    }
    return 'busy';
  }

  async complete(key: string): Promise<void> {
    await this.props.client.set(this.prefix + key, 'done', 'PX', this.doneTtlMs);
  }

  async release(key: string, token: string): Promise<void> {
    await this.props.client.eval(RELEASE, 1, this.prefix + key, `pending:${token}`);
  }
}

export interface ProcessedDocument {
  _id: string;
  state: 'pending' | 'done';
  token?: string;
  leaseUntil?: Date;
  /** When a done record may be deleted (a TTL index on it does that: see `ensureIndexes`). */
  expiresAt?: Date;
}

export interface MongoProcessedStoreProps {
  readonly collection: Collection<ProcessedDocument>;
  /** @default 7 days */
  readonly doneTtlMs?: number;
}

const NOT_IMPLEMENTED = 238;

/** A unique `_id` insert is the claim; an expired lease is taken over with a conditional update. */
export class MongoProcessedStore implements ProcessedStore {
  private readonly doneTtlMs: number;

  constructor(private readonly props: MongoProcessedStoreProps) {
    this.doneTtlMs = props.doneTtlMs ?? 7 * 24 * 3600 * 1000;
  }

  /**
   * A TTL index so done records go away after `doneTtlMs`. Resolves false where TTL indexes are not implemented
   * (FerretDB 1.x): call `purgeExpired()` periodically there.
   */
  async ensureIndexes(): Promise<boolean> {
    try {
      await this.props.collection.createIndex(
        { expiresAt: 1 },
        { expireAfterSeconds: 0, name: 'expiresAt_ttl' },
      );
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === NOT_IMPLEMENTED) return false;
      throw err;
    }
  }

  /** Deletes done records past their expiry; returns how many. */
  async purgeExpired(): Promise<number> {
    const result = await this.props.collection.deleteMany({ state: 'done', expiresAt: { $lt: new Date() } });
    return result.deletedCount;
  }

  async claim(key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    const { collection } = this.props;
    for (let i = 0; i < 2; i++) {
      const now = new Date();
      const leaseUntil = new Date(now.getTime() + leaseMs);
      try {
        await collection.insertOne({ _id: key, state: 'pending', token, leaseUntil });
        return 'claimed';
      } catch (err) {
        if ((err as { code?: unknown }).code !== 11000) throw err;
      }
      const takeover = await collection.updateOne(
        { _id: key, state: 'pending', leaseUntil: { $lt: now } },
        { $set: { token, leaseUntil } },
      );
      if (takeover.modifiedCount === 1) return 'claimed';
      const existing = await collection.findOne({ _id: key }, { projection: { state: 1 } });
      if (existing) return existing.state === 'done' ? 'done' : 'busy';
      // Released between our calls: try once more.
    }
    return 'busy';
  }

  async complete(key: string): Promise<void> {
    await this.props.collection.updateOne(
      { _id: key },
      {
        $set: { state: 'done', expiresAt: new Date(Date.now() + this.doneTtlMs) },
        $unset: { token: '', leaseUntil: '' },
      },
      { upsert: true },
    );
  }

  async release(key: string, token: string): Promise<void> {
    await this.props.collection.deleteOne({ _id: key, state: 'pending', token });
  }
}
