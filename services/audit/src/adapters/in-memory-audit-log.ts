import type { AuditRecord } from '../domain/audit-record.ts';
import type { AuditLog, AuditQuery, InsertResult } from './audit-log.ts';

export class InMemoryAuditLog implements AuditLog {
  private readonly records: AuditRecord[] = [];

  head(): Promise<AuditRecord | undefined> {
    const last = this.sorted().at(-1);
    return Promise.resolve(last ? structuredClone(last) : undefined);
  }

  insert(record: AuditRecord): Promise<InsertResult> {
    if (this.records.some((r) => r.id === record.id)) return Promise.resolve('duplicate');
    if (this.records.some((r) => r.seq === record.seq)) return Promise.resolve('seq-taken');
    this.records.push(structuredClone(record));
    return Promise.resolve('inserted');
  }

  list(query: AuditQuery): Promise<{ items: AuditRecord[]; total: number }> {
    const matching = this.sorted()
      .reverse()
      .filter(
        (r) =>
          (query.actor === undefined || r.actor === query.actor) &&
          (query.resource === undefined || r.resource === query.resource),
      );
    const start = (query.page - 1) * query.limit;
    return Promise.resolve({
      items: matching.slice(start, start + query.limit).map((r) => structuredClone(r)),
      total: matching.length,
    });
  }

  async *scan(): AsyncIterable<AuditRecord> {
    for (const r of this.sorted()) yield await Promise.resolve(structuredClone(r));
  }

  /** Test only: alters a stored record behind the service's back, as an intruder would. */
  tamper(seq: number, patch: Partial<AuditRecord>): void {
    const i = this.records.findIndex((r) => r.seq === seq);
    if (i < 0) throw new Error(`no record ${seq}`);
    this.records[i] = { ...this.records[i], ...patch };
  }

  /** Test only: removes a stored record behind the service's back. */
  remove(seq: number): void {
    const i = this.records.findIndex((r) => r.seq === seq);
    if (i >= 0) this.records.splice(i, 1);
  }

  private sorted(): AuditRecord[] {
    return [...this.records].sort((a, b) => a.seq - b.seq);
  }
}
