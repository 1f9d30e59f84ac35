import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, Db, Document, Filter, IndexSpecification } from 'mongodb';
import { AppError } from '@meshmart/kit';
import { OUTBOX_PENDING, type OutboxEntry } from '@meshmart/kit/events';

/** One immutable version of an entity's state, with the events of the change that made it. */
export interface VersionDocument<S> {
  /** `<key>#<seq>`: the unique _id is what makes exactly one writer win each version. */
  _id: string;
  key: string;
  seq: number;
  state: S;
  at: Date;
  outbox: OutboxEntry[];
  /** A newer version exists: a hint that keeps old versions out of `find` (never read for correctness). */
  superseded?: boolean;
}

export interface Change<S> {
  readonly state: S;
  readonly outbox?: readonly OutboxEntry[];
}

export interface MongoVersionedCollectionOptions {
  /** How long `change` keeps retrying against concurrent writers before answering 503. @default 10000 */
  readonly deadlineMs?: number;
  /** Superseded versions are deleted every this many versions of an entity. @default 16 */
  readonly pruneEvery?: number;
  /**
   * Superseded versions younger than this are kept: a writer that read version n inserts n+1 well within it, so a
   * pruned number is never taken again. @default 60000
   */
  readonly retainMs?: number;
  /** First cap of the random pause before retrying a lost race; it doubles per loss up to 32 times. @default 4 */
  readonly backoffMs?: number;
}

export interface Version<S> {
  readonly seq: number;
  readonly state: S;
}

const DUPLICATE_KEY = 11000;
/** Entities whose latest version this process remembers. */
const MAX_HEADS = 10_000;

function idOf(key: string, seq: number): string {
  return `${key}#${String(seq).padStart(12, '0')}`;
}

/**
 * Entities kept as a chain of insert-only versions, changed by optimistic concurrency: read the latest version n,
 * decide, insert version n+1; the unique _id lets exactly one concurrent writer insert it, the others re-read and
 * decide again. Needed because FerretDB 1.24 (the test server) runs a conditional update as read-then-write
 * without isolation, so two `updateOne({available: {$gte: 1}}, {$inc: ...})` can both pass and one `$inc` be
 * lost; a unique insert is its one atomic primitive. On MongoDB and DocumentDB it is correct as well. Nobody but the
 * outbox relay ever updates a version, so the relay cannot overwrite a state change either.
 */
export class MongoVersionedCollection<S extends Document> {
  readonly collection: Collection<VersionDocument<S>>;
  private readonly deadlineMs: number;
  private readonly backoffMs: number;
  private readonly heads = new Map<string, Version<S>>();
  private readonly pruneEvery: number;
  private readonly retainMs: number;

  constructor(db: Db, name: string, options: MongoVersionedCollectionOptions = {}) {
    this.collection = db.collection<VersionDocument<S>>(name);
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.backoffMs = options.backoffMs ?? 4;
    this.pruneEvery = options.pruneEvery ?? 16;
    this.retainMs = options.retainMs ?? 60_000;
  }

  async ensureIndexes(extra: readonly IndexSpecification[] = []): Promise<void> {
    await this.collection.createIndex({ 'outbox.id': 1 });
    await this.collection.createIndex({ outboxPending: 1 });
    for (const spec of extra) await this.collection.createIndex(spec);
  }

  /**
   * The latest version. FerretDB answers lookups by _id from its primary key but scans the collection for any other
   * filter or sort, so this walks _ids from the last version this process saw (versions are immutable, so it is safe
   * to remember); only an entity this process has not seen yet costs a query.
   */
  async latest(key: string): Promise<Version<S> | undefined> {
    let head = this.heads.get(key) ?? (await this.discover(key));
    if (!head) return undefined;
    for (
      let next = await this.version(key, head.seq + 1);
      next;
      next = await this.version(key, head.seq + 1)
    ) {
      head = next;
    }
    this.remember(key, head);
    return head;
  }

  /** Inserts version 0; false when the entity exists. */
  async create(key: string, change: Change<S>): Promise<boolean> {
    return this.insert(key, 0, change);
  }

  /**
   * Applies `decide` to the latest state (undefined when there is none) until its answer is stored first.
   * `decide` may run several times and must not have other effects; undefined means "no change".
   */
  async change(
    key: string,
    decide: (current: S | undefined) => Change<S> | undefined,
  ): Promise<S | undefined> {
    const deadline = performance.now() + this.deadlineMs;
    for (let lost = 0; ; lost++) {
      const current = await this.latest(key);
      const next = decide(current?.state);
      if (!next) return undefined;
      if (await this.insert(key, (current?.seq ?? -1) + 1, next)) return next.state;
      if (performance.now() > deadline) {
        throw new AppError(503, 'write-contention', `too many concurrent changes of ${key}; try again`);
      }
      // Full jitter, growing with each loss: many writers of one hot entity spread out instead of colliding again.
      await sleep(Math.random() * this.backoffMs * 2 ** Math.min(lost, 5));
    }
  }

  /** Latest states of the entities that have a current version matching `filter`, kept where `still` holds. */
  async find(
    filter: Filter<VersionDocument<S>>,
    still: (state: S) => boolean,
    limit: number,
  ): Promise<{ key: string; state: S }[]> {
    const seen = new Map<string, number[]>();
    const docs = this.collection.find(
      { ...filter, superseded: { $ne: true } } as Filter<VersionDocument<S>>,
      { projection: { key: 1, seq: 1 } },
    );
    for await (const doc of docs) seen.set(doc.key, [...(seen.get(doc.key) ?? []), doc.seq]);
    const out: { key: string; state: S }[] = [];
    for (const [key, seqs] of seen) {
      if (out.length >= limit) break;
      const latest = await this.latest(key);
      if (!latest) continue;
      // Marks the insert path missed (see markSuperseded), so the next query skips them.
      for (const seq of seqs) if (seq < latest.seq) this.markSuperseded(key, seq);
      if (still(latest.state)) out.push({ key, state: latest.state });
    }
    return out;
  }

  private async version(key: string, seq: number): Promise<Version<S> | undefined> {
    const doc = await this.collection.findOne({ _id: idOf(key, seq) } as Filter<VersionDocument<S>>, {
      projection: { seq: 1, state: 1 },
    });
    return doc ? { seq: doc.seq, state: doc.state } : undefined;
  }

  private async discover(key: string): Promise<Version<S> | undefined> {
    const [doc] = await this.collection
      .find({ key } as Filter<VersionDocument<S>>, { projection: { seq: 1, state: 1 } })
      .sort({ seq: -1 })
      .limit(1)
      .toArray();
    return doc ? { seq: doc.seq, state: doc.state } : undefined;
  }

  /**
   * Deletes versions of `key` older than `below` and than retainMs, whose events are relayed. Version 0 stays: it
   * is what makes `create` refuse an id that was used. Nobody else writes these documents (the relay only touches
   * ones with events), so FerretDB's unisolated delete is safe here.
   */
  async prune(key: string, below: number): Promise<number> {
    const res = await this.collection.deleteMany({
      key,
      seq: { $gt: 0, $lt: below },
      at: { $lt: new Date(Date.now() - this.retainMs) },
      'outbox.0': { $exists: false },
    });
    return res.deletedCount;
  }

  /**
   * Best effort, and only once the relay has emptied the version's outbox: FerretDB's unisolated update could
   * otherwise race the relay's and put a sent event back (consumers would drop the duplicate, but why make one).
   * A mark that is skipped or lost is set again by `find`.
   */
  private markSuperseded(key: string, seq: number): void {
    void this.collection
      .updateOne(
        { _id: idOf(key, seq), 'outbox.0': { $exists: false } },
        {
          $set: { superseded: true },
        },
      )
      .catch(() => undefined);
  }

  private remember(key: string, head: Version<S>): void {
    this.heads.delete(key);
    this.heads.set(key, head);
    if (this.heads.size > MAX_HEADS) this.heads.delete(this.heads.keys().next().value!);
  }

  private async insert(key: string, seq: number, change: Change<S>): Promise<boolean> {
    try {
      await this.collection.insertOne({
        _id: idOf(key, seq),
        key,
        seq,
        state: change.state,
        at: new Date(),
        outbox: [...(change.outbox ?? [])],
        ...(change.outbox?.length ? { [OUTBOX_PENDING]: true } : {}),
      });
      this.remember(key, { seq, state: change.state });
      if (seq > 0) this.markSuperseded(key, seq - 1);
      // Best effort: a failed prune leaves a few more versions for the next one.
      if (seq % this.pruneEvery === 0 && seq > 1) void this.prune(key, seq).catch(() => undefined);
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw err;
    }
  }
}
