import type { AuditRecord } from '../domain/audit-record.ts';

export type InsertResult = 'inserted' | 'seq-taken' | 'duplicate';

export interface BatchInsertResult {
  readonly inserted: number;
  readonly refused?: Exclude<InsertResult, 'inserted'>;
}

/**
 * A page of records, newest first, by a seq cursor: the newest `limit` (no cursor), those older than `before`, or
 * those just newer than `after` (both: just newer than `after` and older than `before`). Records are only ever
 * appended, so a page that was read stays the same page.
 */
export interface AuditQuery {
  readonly actor?: string;
  readonly resource?: string;
  readonly before?: number;
  readonly after?: number;
  readonly limit: number;
}

export interface AuditPage {
  /** Newest first. */
  readonly items: AuditRecord[];
  /** Records matching the filters now, in all. */
  readonly total: number;
  /** Pass as `before` for the next older page; absent on the oldest page. */
  readonly older?: number;
  /** Pass as `after` for the next newer page; absent on the newest page. */
  readonly newer?: number;
}

/**
 * A page from the `limit + 1` records read in the query's direction (descending, ascending for `after`): the extra
 * record says whether there is more that way. The other way there is more when a cursor was given: it was the seq
 * of a record on the page it came from, and records are never removed.
 */
export function pageOf(found: readonly AuditRecord[], total: number, query: AuditQuery): AuditPage {
  const more = found.length > query.limit;
  const ascending = query.after !== undefined;
  const items = found.slice(0, query.limit);
  if (ascending) items.reverse();
  const newest = items[0]?.seq;
  const oldest = items[items.length - 1]?.seq;
  let older: number | undefined;
  let newer: number | undefined;
  if (ascending) {
    older = oldest ?? query.after + 1;
    if (more) newer = newest;
  } else {
    if (more) older = oldest;
    if (query.before !== undefined) newer = newest ?? query.before - 1;
  }
  return {
    items,
    total,
    ...(older !== undefined ? { older } : {}),
    ...(newer !== undefined && newer > 0 ? { newer } : {}),
  };
}

/** The append-only store of the audit chain: records are inserted, never updated or deleted. */
export interface AuditLog {
  /** The record with the highest seq. */
  head(): Promise<AuditRecord | undefined>;
  /** 'duplicate' when a record with the same id exists; 'seq-taken' when another writer took that seq first. */
  insert(record: AuditRecord): Promise<InsertResult>;
  /**
   * Inserts consecutive records in order, in one round trip where the store allows, stopping at the first one refused:
   * how many went in, and why the next did not ('duplicate' or 'seq-taken'; absent when all went in).
   */
  insertMany(records: readonly AuditRecord[]): Promise<BatchInsertResult>;
  /** Newest first, by a seq cursor. */
  list(query: AuditQuery): Promise<AuditPage>;
  /** Every record in seq order. */
  scan(): AsyncIterable<AuditRecord>;
}
