import type { Collection, Db, Filter } from 'mongodb';
import type { AuditRecord } from '../domain/audit-record.ts';
import {
  pageOf,
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  type BatchInsertResult,
  type InsertResult,
} from './audit-log.ts';

const DUPLICATE_KEY = 11000;
const SCAN_BATCH = 500;
const NO_ID = { projection: { _id: 0 } } as const;

/** Inserts only: unique indexes on seq (one writer wins each position) and on id (an event is recorded once). */
export class MongoAuditLog implements AuditLog {
  private readonly records: Collection<AuditRecord>;
  private lastHead: AuditRecord | undefined;

  constructor(db: Db, collection = 'audit') {
    this.records = db.collection<AuditRecord>(collection);
  }

  async ensureIndexes(): Promise<void> {
    await this.records.createIndex({ seq: 1 }, { unique: true, name: 'seq_unique' });
    await this.records.createIndex({ id: 1 }, { unique: true, name: 'id_unique' });
    await this.records.createIndex({ actor: 1, seq: -1 }, { name: 'actor_seq' });
    await this.records.createIndex({ resource: 1, seq: -1 }, { name: 'resource_seq' });
  }

  async head(): Promise<AuditRecord | undefined> {
    // A sorted query costs a scan of the whole log on some servers (FerretDB: 190 ms at 3000 records), so the
    // last head seen is kept and only its successors are looked up by seq (an indexed equality), which also
    // catches records appended by other replicas.
    let head: AuditRecord | undefined = this.lastHead;
    if (!head) {
      [head] = await this.records.find({}, NO_ID).sort({ seq: -1 }).limit(1).toArray();
      if (!head) return undefined;
    }
    for (;;) {
      const next: AuditRecord | null = await this.records.findOne({ seq: head.seq + 1 }, NO_ID);
      if (!next) break;
      head = next;
    }
    this.lastHead = head;
    return head;
  }

  async insert(record: AuditRecord): Promise<InsertResult> {
    try {
      // A copy: insertOne would add an _id to the caller's object.
      await this.records.insertOne({ ...record });
      this.lastHead = record;
      return 'inserted';
    } catch (err) {
      if ((err as { code?: unknown }).code !== DUPLICATE_KEY) throw err;
    }
    // Which index refused it is not reported the same way by every server: look.
    const same = await this.records.findOne({ id: record.id }, { projection: { _id: 1 } });
    return same ? 'duplicate' : 'seq-taken';
  }

  async insertMany(records: readonly AuditRecord[]): Promise<BatchInsertResult> {
    if (records.length === 0) return { inserted: 0 };
    try {
      // Copies: insertMany would add an _id to the caller's objects.
      await this.records.insertMany(
        records.map((r) => ({ ...r })),
        { ordered: true },
      );
      this.lastHead = records[records.length - 1];
      return { inserted: records.length };
    } catch (err) {
      const { code, insertedCount, writeErrors } = err as {
        code?: unknown;
        insertedCount?: number;
        writeErrors?: { index: number; code?: unknown } | { index: number; code?: unknown }[];
      };
      const first = Array.isArray(writeErrors) ? writeErrors[0] : writeErrors;
      if ((first?.code ?? code) !== DUPLICATE_KEY) throw err;
      const inserted = first?.index ?? insertedCount ?? 0;
      if (inserted > 0) this.lastHead = records[inserted - 1];
      const same = await this.records.findOne({ id: records[inserted].id }, { projection: { _id: 1 } });
      return { inserted, refused: same ? 'duplicate' : 'seq-taken' };
    }
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const filter: Filter<AuditRecord> = {
      ...(query.actor !== undefined ? { actor: query.actor } : {}),
      ...(query.resource !== undefined ? { resource: query.resource } : {}),
    };
    const window: Filter<AuditRecord> =
      query.after !== undefined || query.before !== undefined
        ? {
            seq: {
              ...(query.after !== undefined ? { $gt: query.after } : {}),
              ...(query.before !== undefined ? { $lt: query.before } : {}),
            },
          }
        : {};
    const [found, total] = await Promise.all([
      this.records
        .find({ ...filter, ...window }, NO_ID)
        .sort({ seq: query.after !== undefined ? 1 : -1 })
        .limit(query.limit + 1)
        .toArray(),
      this.records.countDocuments(filter),
    ]);
    return pageOf(found, total, query);
  }

  async *scan(): AsyncIterable<AuditRecord> {
    let after = 0;
    for (;;) {
      const batch = await this.records
        .find({ seq: { $gt: after } }, NO_ID)
        .sort({ seq: 1 })
        .limit(SCAN_BATCH)
        .toArray();
      for (const record of batch) yield record;
      if (batch.length < SCAN_BATCH) return;
      after = batch[batch.length - 1].seq;
    }
  }
}
