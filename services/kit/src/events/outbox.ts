import type { Topic } from '@meshmart/catalogue';
import type { Collection, Document, Filter } from 'mongodb';
import { BoundedMap } from '../bounded-map.ts';
import type { Logger } from '../logger.ts';
import {
  createEnvelope,
  currentTraceHeaders,
  type EventBus,
  type EventEnvelope,
  type NewEvent,
} from './event-bus.ts';
import { declarePublishes } from './topic-guard.ts';

/** One event waiting in a document's `outbox` array until the relay has published it. */
export interface OutboxEntry<T = unknown> {
  readonly id: string;
  readonly topic: string;
  readonly envelope: EventEnvelope<T>;
}

/** The document an entry lives in. */
export interface OutboxDocKey {
  readonly collection: string;
  readonly id: unknown;
}

export interface PendingOutboxEntry<T = unknown> extends OutboxEntry<T> {
  readonly key: OutboxDocKey;
}

/**
 * Builds an entry when the state change is written: id, time and trace context are fixed now, so a relay that
 * publishes it late or twice publishes the same event (consumers dedupe on the id).
 */
export function outboxEntry<T>(topic: string, event: NewEvent<T>, source: string): OutboxEntry<T> {
  const envelope = createEnvelope(
    topic,
    { ...event, headers: event.headers ?? currentTraceHeaders(event.context) },
    source,
  );
  return { id: envelope.id, topic, envelope };
}

/**
 * Set on a document while its outbox has entries. The relay looks for it by equality, which every server answers
 * from an index; `{'outbox.0': {$exists: true}}` is a scan of the whole collection on FerretDB (340 ms at 3000
 * documents), and the relay runs after every write.
 */
export const OUTBOX_PENDING = 'outboxPending';

export interface OutboxPush {
  $push: { outbox: { $each: OutboxEntry[] } } & Document;
}

/**
 * Adds the entries to an `updateOne`/`findOneAndUpdate` update document, keeping its other operators (and other
 * `$push` targets), so the events are written atomically with the state change.
 * e.g. `orders.updateOne({ _id, status: 'PENDING' }, withOutboxUpdate({ $set: { status: 'CONFIRMED' } }, [entry]))`
 */
export function withOutboxUpdate<U extends Document>(
  update: U,
  entries: readonly OutboxEntry[],
): U & OutboxPush {
  const push = (update.$push ?? {}) as Document;
  const set = (update.$set ?? {}) as Document;
  return {
    ...update,
    ...(entries.length > 0 ? { $set: { ...set, [OUTBOX_PENDING]: true } } : {}),
    $push: { ...push, outbox: { $each: [...entries] } },
  };
}

/** A new document carrying its first events, for `insertOne`. */
export function withOutbox<D extends Document>(
  doc: D,
  entries: readonly OutboxEntry[],
): D & { outbox: OutboxEntry[] } {
  const outbox = [...((doc.outbox as OutboxEntry[] | undefined) ?? []), ...entries];
  return { ...doc, outbox, ...(outbox.length > 0 ? { [OUTBOX_PENDING]: true } : {}) };
}

/** Where the relay finds unpublished events. */
export interface OutboxStore {
  /** Up to `limit` entries, in write order within each document. */
  pending(limit: number): Promise<PendingOutboxEntry[]>;
  /** Removes published entries from their documents. */
  markSent(entries: readonly PendingOutboxEntry[]): Promise<void>;
  /**
   * The entries a writer has just stored in one document, as `pending` would list them, so the relay can publish them
   * without reading them back (`OutboxRelay.offer`). Stores without it are only polled.
   */
  written?(key: OutboxDocKey, entries: readonly OutboxEntry[]): PendingOutboxEntry[];
}

/** What a writer calls once a document with outbox entries is stored: `(key, entries) => relay.offer(key, entries)`. */
export type OutboxWritten = (key: OutboxDocKey, entries: readonly OutboxEntry[]) => void;

/**
 * Outboxes inside the documents of one or more collections. An index on `outbox.id` keeps `pending` cheap when most
 * documents have an empty outbox.
 */
export class MongoOutboxStore implements OutboxStore {
  private readonly collections: readonly Collection<Document>[];
  /** Each entry exactly as read (for `$pullAll`, which matches whole values) and the outbox length it was read in. */
  private readonly stored = new WeakMap<PendingOutboxEntry, StoredEntry>();
  private next = 0;
  private lastFullScan = Number.NEGATIVE_INFINITY;
  private readonly fullScanEveryMs: number;

  /**
   * @param options.fullScanEveryMs how often `pending` also looks for entries by the outbox itself rather than by
   *   the `outboxPending` flag, for documents written without the flag (the first call always does). @default 30000
   */
  constructor(
    collections: Collection<Document> | readonly Collection<Document>[],
    options: { readonly fullScanEveryMs?: number } = {},
  ) {
    this.collections = Array.isArray(collections) ? collections : [collections as Collection<Document>];
    this.fullScanEveryMs = options.fullScanEveryMs ?? 30_000;
  }

  /** The index behind the relay's query; call once at start. */
  async ensureIndexes(): Promise<void> {
    await Promise.all(
      this.collections.map((c) => c.createIndex({ [OUTBOX_PENDING]: 1 }, { name: 'outbox_pending' })),
    );
  }

  async pending(limit: number): Promise<PendingOutboxEntry[]> {
    const out: PendingOutboxEntry[] = [];
    const n = this.collections.length;
    // Start from a different collection each call, so a busy one cannot starve the others.
    this.next = (this.next + 1) % n;
    const full = performance.now() - this.lastFullScan >= this.fullScanEveryMs;
    if (full) this.lastFullScan = performance.now();
    const filter: Filter<Document> = full ? { 'outbox.0': { $exists: true } } : { [OUTBOX_PENDING]: true };
    for (let i = 0; i < n && out.length < limit; i++) {
      const collection = this.collections[(this.next + i) % n];
      const docs = collection.find(filter, { projection: { _id: 1, outbox: 1 }, limit: limit - out.length });
      for await (const doc of docs) {
        const key = { collection: collection.collectionName, id: doc._id as unknown };
        const outbox = doc.outbox as (OutboxEntry & Document)[];
        for (const raw of outbox) {
          if (out.length >= limit) break;
          const entry = { id: raw.id, topic: raw.topic, envelope: raw.envelope, key };
          this.stored.set(entry, { raw, outboxLength: outbox.length });
          out.push(entry);
        }
      }
    }
    return out;
  }

  written(key: OutboxDocKey, entries: readonly OutboxEntry[]): PendingOutboxEntry[] {
    return entries.map((e) => {
      const entry = { id: e.id, topic: e.topic, envelope: e.envelope, key };
      // As written: the document's outbox is usually just these and other entries offered since its last removal;
      // markSent checks.
      this.stored.set(entry, { raw: e, outboxLength: entries.length, offered: true });
      return entry;
    });
  }

  /**
   * Removes the entries, per collection in one round trip where it can: the documents whose outbox is presumably just
   * these entries are emptied by one `bulkWrite` of conditional updates (as `markSentIn` does one by one). When not all
   * of them matched, or for the other documents, each document goes through `markSentIn`.
   */
  async markSent(entries: readonly PendingOutboxEntry[]): Promise<void> {
    const read = (e: PendingOutboxEntry): StoredEntry | undefined => this.stored.get(e);
    const byCollection = new Map<Collection<Document>, { id: unknown; sent: PendingOutboxEntry[] }[]>();
    for (const { key, entries: sent } of groupEntriesByDoc(entries)) {
      const collection = this.collections.find((c) => c.collectionName === key.collection);
      if (!collection) throw new Error(`MongoOutboxStore: unknown collection '${key.collection}'`);
      const docs = byCollection.get(collection) ?? [];
      docs.push({ id: key.id, sent });
      byCollection.set(collection, docs);
    }
    await Promise.all(
      [...byCollection].map(async ([collection, docs]) => {
        const whole = docs.filter((d) => presumablyWhole(d.sent, read));
        const rest = docs.filter((d) => !whole.includes(d));
        if (whole.length > 1) {
          const result = await collection.bulkWrite(
            whole.map(({ id, sent }) => ({
              updateOne: {
                filter: { _id: id, outbox: exactly(sent, read) } as Filter<Document>,
                update: { $set: { outbox: [], [OUTBOX_PENDING]: false } },
              },
            })),
            { ordered: false },
          );
          // Which one missed is not reported: each takes the slow path, a no-op where the bulk emptied it.
          if (result.matchedCount !== whole.length)
            await Promise.all(whole.map(({ id, sent }) => pullSent(collection, id, exactly(sent, read))));
        } else {
          rest.push(...whole);
        }
        await Promise.all(rest.map(({ id, sent }) => markSentIn(collection, id, sent, read)));
      }),
    );
  }
}

/** What a store remembers of an entry it listed or was handed: for `markSentIn`. */
export interface StoredEntry {
  /** The entry exactly as stored (`$pullAll` and the emptying update match whole values). */
  readonly raw: Document;
  /** The length of the outbox it was read in, or of the write that stored it. */
  readonly outboxLength: number;
  /** Handed over by its writer (`written`) rather than read. */
  readonly offered?: boolean;
}

/**
 * Whether `sent` is presumably a document's whole outbox: it was read as that, or every entry was handed over by a
 * writer (the relay removes what it publishes, so a document's outbox holds what was written since then).
 */
function presumablyWhole(
  sent: readonly PendingOutboxEntry[],
  read: (entry: PendingOutboxEntry) => StoredEntry | undefined,
): boolean {
  return read(sent[0])?.outboxLength === sent.length || sent.every((e) => read(e)?.offered === true);
}

function exactly(
  sent: readonly PendingOutboxEntry[],
  read: (entry: PendingOutboxEntry) => StoredEntry | undefined,
): Document[] {
  return sent.map((e) => read(e)?.raw ?? { id: e.id, topic: e.topic, envelope: e.envelope });
}

function groupEntriesByDoc(
  entries: readonly PendingOutboxEntry[],
): { key: OutboxDocKey; entries: PendingOutboxEntry[] }[] {
  const byDoc = new Map<string, { key: OutboxDocKey; entries: PendingOutboxEntry[] }>();
  for (const entry of entries) {
    const k = docKey(entry.key);
    const group = byDoc.get(k) ?? { key: entry.key, entries: [] };
    group.entries.push(entry);
    byDoc.set(k, group);
  }
  return [...byDoc.values()];
}

/**
 * Removes sent entries from one document's outbox. When they were presumably its whole outbox (as read, or all handed
 * over by writers since the last removal), one update empties it and
 * clears the flag, on condition that the outbox is still exactly those entries (an entry added meanwhile, or another
 * relay's removal, makes it miss). Otherwise the entries are pulled by exact value (`$pullAll`: FerretDB 1.x ignores
 * conditions in `$pull`) and the flag is cleared only if nothing is left.
 */
export async function markSentIn(
  collection: Collection<Document>,
  id: unknown,
  sent: readonly PendingOutboxEntry[],
  read: (entry: PendingOutboxEntry) => StoredEntry | undefined,
): Promise<void> {
  const filter = { _id: id } as Filter<Document>;
  const exact = exactly(sent, read);
  if (presumablyWhole(sent, read)) {
    const emptied = await collection.updateOne(
      { ...filter, outbox: exact },
      {
        $set: { outbox: [], [OUTBOX_PENDING]: false },
      },
    );
    if (emptied.matchedCount === 1) return;
  }
  await pullSent(collection, id, exact);
}

/** Pulls entries by exact value and clears the flag if nothing is left: right whatever else the outbox holds. */
async function pullSent(collection: Collection<Document>, id: unknown, exact: Document[]): Promise<void> {
  const filter = { _id: id } as Filter<Document>;
  await collection.updateOne(filter, { $pullAll: { outbox: exact } } as Document);
  // Only when the outbox is empty now: a writer that added an entry meanwhile has set the flag again.
  await collection.updateOne(
    { ...filter, [OUTBOX_PENDING]: true, 'outbox.0': { $exists: false } },
    { $set: { [OUTBOX_PENDING]: false } },
  );
}

function docKey(key: OutboxDocKey): string {
  return `${key.collection}\u0000${String(key.id)}`;
}

function groupByDoc(
  entries: readonly PendingOutboxEntry[],
): Map<string, { key: OutboxDocKey; ids: string[] }> {
  const byDoc = new Map<string, { key: OutboxDocKey; ids: string[] }>();
  for (const entry of entries) {
    const k = docKey(entry.key);
    const group = byDoc.get(k) ?? { key: entry.key, ids: [] };
    group.ids.push(entry.id);
    byDoc.set(k, group);
  }
  return byDoc;
}

/** The in-memory twin: in-memory repositories `add` entries when they save the state change. */
export class InMemoryOutboxStore implements OutboxStore {
  private readonly docs = new Map<string, { key: OutboxDocKey; entries: OutboxEntry[] }>();

  add(key: OutboxDocKey, entries: readonly OutboxEntry[]): void {
    const k = docKey(key);
    const doc = this.docs.get(k) ?? { key, entries: [] };
    doc.entries.push(...entries);
    this.docs.set(k, doc);
  }

  written(key: OutboxDocKey, entries: readonly OutboxEntry[]): PendingOutboxEntry[] {
    return entries.map((e) => ({ id: e.id, topic: e.topic, envelope: e.envelope, key }));
  }

  /** Entries not yet marked sent. */
  get size(): number {
    let n = 0;
    for (const doc of this.docs.values()) n += doc.entries.length;
    return n;
  }

  pending(limit: number): Promise<PendingOutboxEntry[]> {
    const out: PendingOutboxEntry[] = [];
    for (const { key, entries } of this.docs.values()) {
      for (const entry of entries) {
        if (out.length >= limit) return Promise.resolve(out);
        out.push({ ...entry, key });
      }
    }
    return Promise.resolve(out);
  }

  markSent(entries: readonly PendingOutboxEntry[]): Promise<void> {
    for (const [k, { ids }] of groupByDoc(entries)) {
      const doc = this.docs.get(k);
      if (!doc) continue;
      const sent = new Set(ids);
      doc.entries = doc.entries.filter((e) => !sent.has(e.id));
      if (doc.entries.length === 0) this.docs.delete(k);
    }
    return Promise.resolve();
  }
}

export interface OutboxRelayProps {
  readonly store: OutboxStore;
  readonly bus: EventBus;
  /**
   * The topics of the events this relay's writers store (the constants their domain code writes with). Checked
   * against the service's catalogue entry when the relay is built (`declarePublishes`), so a topic outside it fails
   * the service's start; an entry on any other topic is refused when offered and never published.
   */
  readonly topics: readonly Topic[];
  /**
   * Poll period: how soon an entry nobody offered (a writer that crashed before offering it, another replica's) goes
   * out. `offer` and `nudge` relay at once. @default 1000
   */
  readonly intervalMs?: number;
  /** @default 100 */
  readonly batchSize?: number;
  /**
   * How long published entries wait before they are removed from their documents, so that entries published close
   * together — a document's next event, other documents' — are removed together (one update per document, one round
   * trip per collection) instead of one write each. A crash in that window republishes them; consumers dedupe.
   * 0 removes them as soon as they are published. @default 200
   */
  readonly markDelayMs?: number;
  readonly logger?: Logger;
}

/** An outbox entry on a topic its relay was not built to publish. */
export class OutboxTopicNotDeclaredError extends Error {
  override readonly name = 'OutboxTopicNotDeclaredError';

  constructor(
    readonly topic: string,
    readonly declared: readonly string[],
  ) {
    super(
      `outbox entry on '${topic}', but its relay publishes only ${declared.map((t) => `'${t}'`).join(', ')}; ` +
        `add the topic to the OutboxRelay's topics where the service builds it (and to its catalogue entry's publishes)`,
    );
  }
}

/** What this relay did with an entry lately: published it, or also removed it from its document. */
type Done = 'published' | 'marked';

/**
 * Publishes outbox entries and then removes them: at-least-once (a crash between the two republishes; consumers
 * dedupe). Entries a writer offers right after storing them go out without being read back; the store is polled for
 * the rest. A failed publish leaves the entry, and the rest of its document's entries, for the next poll.
 */
export class OutboxRelay {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly markDelayMs: number;
  /** Published, waiting for `markDelayMs` to be removed from their documents together. */
  private unmarked: PendingOutboxEntry[] = [];
  private markTimer: NodeJS.Timeout | undefined;
  private marking: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private running = false;
  private stopping = false;
  private again = false;
  private pollDue = true;
  private readonly offered: PendingOutboxEntry[] = [];
  /** Ids this relay published or marked lately: an offered entry a poll already sent is not sent twice. */
  private readonly done = new BoundedMap<string, Done>(10_000);

  private readonly topics: ReadonlySet<string>;

  constructor(private readonly props: OutboxRelayProps) {
    if (props.topics.length === 0)
      throw new Error('OutboxRelay: declare the topics it publishes (topics: [...])');
    declarePublishes(props.bus, props.topics);
    this.topics = new Set(props.topics);
    this.intervalMs = props.intervalMs ?? 1000;
    this.batchSize = props.batchSize ?? 100;
    this.markDelayMs = props.markDelayMs ?? 200;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.pollDue = true;
    this.schedule(0);
  }

  /** Relays now, polling the store, instead of at the next poll (coalesced with a pass already running). */
  nudge(): void {
    this.pollDue = true;
    this.wake();
  }

  /**
   * Publishes the entries a writer has just stored in one document, without reading them back (a store without
   * `written` is polled instead). Call it once the write is acknowledged. Throws OutboxTopicNotDeclaredError for an
   * entry on a topic outside `topics`: a writer's bug, which its tests see at the write.
   */
  offer(key: OutboxDocKey, entries: readonly OutboxEntry[]): void {
    for (const entry of entries) this.assertDeclared(entry);
    if (!this.running || entries.length === 0) return;
    const pending = this.props.store.written?.(key, entries);
    if (!pending) {
      this.nudge();
      return;
    }
    this.offered.push(...pending);
    this.wake();
  }

  /** No further passes; resolves when the current one has finished and what it published is removed. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
    await this.flushMarks();
  }

  /** Removes the published entries that wait for `markDelayMs` now (tests; `stop` does it). */
  async flushMarks(): Promise<void> {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    while (this.marking) await this.marking;
    if (this.unmarked.length === 0) return;
    this.marking = this.mark(this.unmarked.splice(0)).finally(() => (this.marking = undefined));
    await this.marking;
  }

  /**
   * One pass: the offered entries, then (unless `poll` is false) the store until it is empty or a publish fails;
   * returns how many events were published.
   */
  async relayOnce(options: { readonly poll?: boolean } = {}): Promise<number> {
    let total = 0;
    if (this.offered.length > 0) {
      const { published, failed } = await this.send(this.offered.splice(0), true);
      total += published;
      if (failed) this.pollDue = true; // what was not sent is still in its document
    }
    if (options.poll === false) return total;
    for (;;) {
      const batch = await this.props.store.pending(this.batchSize);
      if (batch.length === 0) return total;
      const { published, failed } = await this.send(batch, false);
      total += published;
      if (failed || batch.length < this.batchSize || this.stopping) return total;
    }
  }

  /**
   * Publishes a batch in order (a failure holds back the rest of that document) and marks what went out. An entry this
   * relay already published is only marked; an offered one already marked (a poll got to it first) is left alone.
   */
  private async send(
    batch: readonly PendingOutboxEntry[],
    offered: boolean,
  ): Promise<{ published: number; failed: boolean }> {
    const sent: PendingOutboxEntry[] = [];
    const blocked = new Set<string>();
    let published = 0;
    let failure: unknown;
    for (const entry of batch) {
      const k = docKey(entry.key);
      if (blocked.has(k)) continue;
      const done = this.done.get(entry.id);
      if (done === 'marked' && offered) continue;
      if (done === undefined) {
        try {
          this.assertDeclared(entry);
          await this.props.bus.publish(entry.topic, entry.envelope);
          published++;
          this.done.set(entry.id, 'published');
        } catch (err) {
          // Later events of the same document wait too, so their order is kept.
          blocked.add(k);
          failure = err;
          continue;
        }
      }
      sent.push(entry);
    }
    if (sent.length > 0) {
      if (this.markDelayMs > 0 && !this.stopping) {
        this.unmarked.push(...sent);
        if (this.unmarked.length >= this.batchSize) void this.flushMarks();
        else this.markTimer ??= setTimeout(() => void this.flushAfterPass(), this.markDelayMs).unref();
      } else {
        await this.props.store.markSent(sent);
        for (const entry of sent) this.done.set(entry.id, 'marked');
      }
    }
    if (failure !== undefined) {
      this.props.logger?.warn(
        { err: failure, unsent: batch.length - sent.length },
        'outbox publish failed; will retry',
      );
    }
    return { published, failed: failure !== undefined };
  }

  /**
   * The delay is over: the entries a pass is publishing right now join this removal (a document's next event, written
   * and offered just before, would otherwise make the removal of the one before miss and take the slow path).
   */
  private async flushAfterPass(): Promise<void> {
    this.markTimer = undefined;
    await this.current;
    await this.flushMarks();
  }

  /** Removes published entries from their documents; what fails stays there for the next poll (which only marks). */
  private async mark(entries: readonly PendingOutboxEntry[]): Promise<void> {
    // A poll may have removed some meanwhile, or found one again before its removal (listed twice).
    const ids = new Set<string>();
    const due = entries.filter((e) => this.done.get(e.id) !== 'marked' && !ids.has(e.id) && ids.add(e.id));
    if (due.length === 0) return;
    try {
      await this.props.store.markSent(due);
      for (const entry of due) this.done.set(entry.id, 'marked');
    } catch (err) {
      this.pollDue = true;
      this.props.logger?.warn({ err, entries: due.length }, 'outbox removal failed; the next poll retries');
    }
  }

  private assertDeclared(entry: OutboxEntry): void {
    if (!this.topics.has(entry.topic)) throw new OutboxTopicNotDeclaredError(entry.topic, [...this.topics]);
  }

  private wake(): void {
    if (!this.running) return;
    if (this.current) this.again = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(delayMs > 0), delayMs);
    this.timer.unref();
  }

  private tick(periodic: boolean): void {
    this.timer = undefined;
    const poll = periodic || this.pollDue;
    this.pollDue = false;
    this.current = this.relayOnce({ poll })
      .then(
        () => undefined,
        (err: unknown) => {
          this.pollDue = true;
          this.props.logger?.error({ err }, 'outbox relay pass failed; will retry');
        },
      )
      .finally(() => {
        this.current = undefined;
        if (!this.running) return;
        const soon = this.again || this.pollDue || this.offered.length > 0;
        this.again = false;
        this.schedule(soon ? 0 : this.intervalMs);
      });
  }
}
