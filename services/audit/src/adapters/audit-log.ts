import type { AuditRecord } from '../domain/audit-record.ts';

export type InsertResult = 'inserted' | 'seq-taken' | 'duplicate';

export interface AuditQuery {
  readonly actor?: string;
  readonly resource?: string;
  /** 1-based. */
  readonly page: number;
  readonly limit: number;
}

/** The append-only store of the audit chain: records are inserted, never updated or deleted. */
export interface AuditLog {
  /** The record with the highest seq. */
  head(): Promise<AuditRecord | undefined>;
  /** 'duplicate' when a record with the same id exists; 'seq-taken' when another writer took that seq first. */
  insert(record: AuditRecord): Promise<InsertResult>;
  /** Newest first. */
  list(query: AuditQuery): Promise<{ items: AuditRecord[]; total: number }>;
  /** Every record in seq order. */
  scan(): AsyncIterable<AuditRecord>;
}
