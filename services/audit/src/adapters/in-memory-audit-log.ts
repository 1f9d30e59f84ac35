import type { AuditRecord } from '../domain/audit-record.ts';
import {
  pageOf,
  type AuditLog,
  type AuditPage,
  type AuditQuery,
  type BatchInsertResult,
  type InsertResult,
} from './audit-log.ts';

/** Records by seq and by event id, so an append costs the same with a million records as with ten. */
export class InMemoryAuditLog implements AuditLog {
  private readonly bySeq = new Map<number, AuditRecord>();
  private readonly ids = new Set<string>();
  private last: AuditRecord | undefined;

  head(): Promise<AuditRecord | undefined> {
    return Promise.resolve(this.last ? structuredClone(this.last) : undefined);
  }

  insert(record: AuditRecord): Promise<InsertResult> {
    if (this.ids.has(record.id)) return Promise.resolve('duplicate');
    if (this.bySeq.has(record.seq)) return Promise.resolve('seq-taken');
    const stored = structuredClone(record);
    this.bySeq.set(stored.seq, stored);
    this.ids.add(stored.id);
    if (!this.last || stored.seq > this.last.seq) this.last = stored;
    return Promise.resolve('inserted');
  }

  async insertMany(records: readonly AuditRecord[]): Promise<BatchInsertResult> {
    for (let i = 0; i < records.length; i++) {
      const result = await this.insert(records[i]);
      if (result !== 'inserted') return { inserted: i, refused: result };
    }
    return { inserted: records.length };
  }

  list(query: AuditQuery): Promise<AuditPage> {
    const matching = this.sorted().filter(
      (r) =>
        (query.actor === undefined || r.actor === query.actor) &&
        (query.resource === undefined || r.resource === query.resource),
    );
    const inWindow = matching.filter(
      (r) =>
        (query.after === undefined || r.seq > query.after) &&
        (query.before === undefined || r.seq < query.before),
    );
    const found = query.after !== undefined ? inWindow : inWindow.reverse();
    return Promise.resolve(
      pageOf(
        found.slice(0, query.limit + 1).map((r) => structuredClone(r)),
        matching.length,
        query,
      ),
    );
  }

  async *scan(): AsyncIterable<AuditRecord> {
    for (const r of this.sorted()) yield await Promise.resolve(structuredClone(r));
  }

  /** Test only: alters a stored record behind the service's back, as an intruder would. */
  tamper(seq: number, patch: Partial<AuditRecord>): void {
    const record = this.bySeq.get(seq);
    if (!record) throw new Error(`no record ${seq}`);
    const altered = { ...record, ...patch };
    this.bySeq.set(seq, altered);
    if (this.last === record) this.last = altered;
  }

  /** Test only: removes a stored record behind the service's back. */
  remove(seq: number): void {
    const record = this.bySeq.get(seq);
    if (!record) return;
    this.bySeq.delete(seq);
    this.ids.delete(record.id);
    if (this.last === record) this.last = this.sorted().at(-1);
  }

  private sorted(): AuditRecord[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }
}
