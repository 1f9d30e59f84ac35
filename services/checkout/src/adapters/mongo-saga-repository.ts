import type { Collection, Db, Document, Filter } from 'mongodb';
import {
  markSentIn,
  withOutbox,
  withOutboxUpdate,
  type OutboxDocKey,
  type OutboxEntry,
  type OutboxStore,
  type PendingOutboxEntry,
  type StoredEntry,
} from '@meshmart/kit/events';
import { ACTIVE_STATUSES, type Saga, type SagaStatus } from '../domain/saga.ts';
import { KeyedLock } from '@meshmart/kit';
import { SAGAS_COLLECTION, type SagaQuery, type SagaRepository } from './saga-repository.ts';

type SagaDocument = Omit<Saga, 'id'> & { _id: string; outbox?: OutboxEntry[]; outboxPending?: boolean };

const WITHOUT_OUTBOX = { projection: { outbox: 0, outboxPending: 0 } };
const DUPLICATE_KEY = 11000;
const LEASE_CLAIMS_COLLECTION = 'saga_lease_claims';
const TERMINAL: readonly SagaStatus[] = ['COMPLETED', 'COMPENSATED', 'FAILED'];

export interface MongoSagaRepositoryOptions {
  /**
   * The engine's owner id. When set, this process relays only the events of sagas it holds the lease of, or that
   * have ended, so each saga document is written by one process at a time.
   */
  readonly owner?: string;
}

/**
 * `sagas` {_id: sagaId, idempotencyKey (unique), status, context, steps, log, lease, outbox}. Single-document
 * writes only (no transactions on FerretDB): the state, the lease check and the events go in one updateOne.
 *
 * FerretDB 1.24 does not isolate concurrent updates of one document (a `$set` of one field can undo a concurrent
 * `$pullAll` of another, and the reverse), so every write of a saga document from this process is serialised
 * (KeyedLock), and the outbox relay leaves alone the documents another process is driving.
 */
export class MongoSagaRepository<C = unknown> implements SagaRepository<C> {
  readonly outbox: OutboxStore;
  private readonly sagas: Collection<SagaDocument>;
  private readonly claims: Collection<{ _id: string; sagaId: string; owner: string; at: string }>;
  private readonly lock = new KeyedLock();

  constructor(db: Db, options: MongoSagaRepositoryOptions = {}) {
    this.sagas = db.collection<SagaDocument>(SAGAS_COLLECTION);
    this.claims = db.collection(LEASE_CLAIMS_COLLECTION);
    this.outbox = new SagaOutboxStore(this.sagas, this.lock, options.owner);
  }

  async ensureIndexes(): Promise<void> {
    await this.sagas.createIndex({ idempotencyKey: 1 }, { unique: true, name: 'idempotency_key_unique' });
    await this.sagas.createIndex({ status: 1, 'lease.until': 1 }, { name: 'status_lease' });
    await this.sagas.createIndex({ createdAt: -1 }, { name: 'created_at' });
    await this.sagas.createIndex({ 'outbox.id': 1 }, { name: 'outbox_id' });
    await this.sagas.createIndex({ outboxPending: 1 }, { name: 'outbox_pending' });
  }

  async create(saga: Saga<C>, events: readonly OutboxEntry[]): Promise<{ created: boolean; saga: Saga<C> }> {
    try {
      await this.sagas.insertOne(withOutbox(toDocument(saga), events));
      return { created: true, saga };
    } catch (err) {
      if ((err as { code?: unknown }).code !== DUPLICATE_KEY) throw err;
      const existing = await this.findByIdempotencyKey(saga.idempotencyKey);
      if (!existing) throw err;
      return { created: false, saga: existing };
    }
  }

  async get(id: string): Promise<Saga<C> | undefined> {
    return fromDocument<C>(await this.sagas.findOne({ _id: id }, WITHOUT_OUTBOX));
  }

  async findByIdempotencyKey(key: string): Promise<Saga<C> | undefined> {
    return fromDocument<C>(await this.sagas.findOne({ idempotencyKey: key }, WITHOUT_OUTBOX));
  }

  async list(query: SagaQuery): Promise<Saga<C>[]> {
    const filter: Filter<SagaDocument> = query.status ? { status: query.status } : {};
    const docs = await this.sagas
      .find(filter, WITHOUT_OUTBOX)
      .sort({ createdAt: -1 })
      .limit(query.limit)
      .toArray();
    return docs.map((d) => fromDocument<C>(d)!);
  }

  /**
   * FerretDB 1.24 does not isolate a conditional update from a concurrent one (two racing updates can both match),
   * so a takeover is decided by inserting `<sagaId>#<generation>` into a uniquely keyed collection: one engine wins.
   */
  async acquire(id: string, owner: string, now: number, until: number): Promise<Saga<C> | undefined> {
    const saga = fromDocument<C>(await this.sagas.findOne({ _id: id }, WITHOUT_OUTBOX));
    if (!saga || !ACTIVE_STATUSES.includes(saga.status)) return undefined;
    const lease = saga.lease;
    const live = lease !== null && lease.until > now;
    if (live && lease.owner !== owner) return undefined;
    const generation = (lease?.generation ?? 0) + (live ? 0 : 1);
    if (!live) {
      try {
        await this.claims.insertOne({
          _id: `${id}#${generation}`,
          sagaId: id,
          owner,
          at: new Date(now).toISOString(),
        });
      } catch (err) {
        if ((err as { code?: unknown }).code === DUPLICATE_KEY) return undefined;
        throw err;
      }
    }
    const next = { owner, until, generation };
    await this.lock.run(id, () => this.sagas.updateOne({ _id: id }, { $set: { lease: next } }));
    saga.lease = next;
    return saga;
  }

  async save(saga: Saga<C>, owner: string, events: readonly OutboxEntry[] = []): Promise<boolean> {
    const { _id, ...fields } = toDocument(saga);
    const set = {
      status: fields.status,
      context: fields.context,
      steps: fields.steps,
      log: fields.log,
      lease: fields.lease,
      updatedAt: fields.updatedAt,
      ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
      ...(fields.finishedAt !== undefined ? { finishedAt: fields.finishedAt } : {}),
    };
    const update = events.length > 0 ? withOutboxUpdate({ $set: set }, events) : { $set: set };
    const result = await this.lock.run(_id, () =>
      this.sagas.updateOne({ _id, 'lease.owner': owner }, update as Document),
    );
    return result.matchedCount === 1;
  }

  async expired(now: number, limit: number): Promise<string[]> {
    const docs = await this.sagas
      .find(
        { status: { $in: [...ACTIVE_STATUSES] }, 'lease.until': { $lte: now } },
        { projection: { _id: 1 }, limit },
      )
      .toArray();
    return docs.map((d) => d._id);
  }
}

/** The kit's MongoOutboxStore, narrowed to the sagas this process may write, with writes under the saga's lock. */
class SagaOutboxStore implements OutboxStore {
  /** Each entry exactly as read (for `$pullAll`, which matches whole values) and the outbox length it was read in. */
  private readonly stored = new WeakMap<PendingOutboxEntry, StoredEntry>();

  constructor(
    private readonly sagas: Collection<SagaDocument>,
    private readonly lock: KeyedLock,
    private readonly owner: string | undefined,
  ) {}

  async pending(limit: number): Promise<PendingOutboxEntry[]> {
    const mine: Filter<SagaDocument> =
      this.owner === undefined
        ? {}
        : { $or: [{ status: { $in: [...TERMINAL] } }, { 'lease.owner': this.owner }] };
    const docs = await this.sagas
      .find({ outboxPending: true, ...mine } as Filter<SagaDocument>, {
        projection: { _id: 1, outbox: 1 },
        limit,
      })
      .toArray();
    const out: PendingOutboxEntry[] = [];
    for (const doc of docs) {
      const outbox = doc.outbox ?? [];
      for (const raw of outbox) {
        if (out.length >= limit) return out;
        const entry = {
          id: raw.id,
          topic: raw.topic,
          envelope: raw.envelope,
          key: { collection: SAGAS_COLLECTION, id: doc._id },
        };
        this.stored.set(entry, { raw: raw, outboxLength: outbox.length });
        out.push(entry);
      }
    }
    return out;
  }

  written(key: OutboxDocKey, entries: readonly OutboxEntry[]): PendingOutboxEntry[] {
    return entries.map((e) => {
      const entry = { id: e.id, topic: e.topic, envelope: e.envelope, key };
      this.stored.set(entry, { raw: e, outboxLength: entries.length, offered: true });
      return entry;
    });
  }

  async markSent(entries: readonly PendingOutboxEntry[]): Promise<void> {
    const byDoc = new Map<string, PendingOutboxEntry[]>();
    for (const e of entries) {
      const id = String(e.key.id);
      byDoc.set(id, [...(byDoc.get(id) ?? []), e]);
    }
    await Promise.all(
      [...byDoc].map(([id, sent]) =>
        this.lock.run(id, () =>
          markSentIn(this.sagas as unknown as Collection<Document>, id, sent, (e) => this.stored.get(e)),
        ),
      ),
    );
  }
}

function toDocument<C>(saga: Saga<C>): SagaDocument {
  const { id, ...rest } = saga as Saga;
  return { _id: id, ...rest };
}

function fromDocument<C>(doc: SagaDocument | null): Saga<C> | undefined {
  if (!doc) return undefined;
  const { _id, outbox: _outbox, outboxPending: _pending, ...rest } = doc;
  return { id: _id, ...rest } as Saga<C>;
}
