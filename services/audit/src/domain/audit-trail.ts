import { setTimeout as sleep } from 'node:timers/promises';
import type { EventEnvelope } from '@meshmart/kit/events';
import type { AuditLog } from '../adapters/audit-log.ts';
import {
  defectOf,
  factsOf,
  GENESIS_HASH,
  seal,
  type AuditRecord,
  type InvalidReason,
} from './audit-record.ts';

export interface VerifyResult {
  readonly ok: boolean;
  /** Records in the chain. */
  readonly records: number;
  readonly firstInvalid?: { readonly seq: number; readonly id: string; readonly reason: InvalidReason };
}

export interface AuditTrailProps {
  readonly log: AuditLog;
  readonly now?: () => Date;
  /** Appends lost to other writers before giving up (the delivery is then retried). @default 100 */
  readonly maxAttempts?: number;
  /** Records inserted in one round trip at most. @default 100 */
  readonly maxBatch?: number;
  /**
   * How long an event waits for others before its insert goes out (a full batch goes at once). An audit record is
   * not on anyone's path, so a checkout's dozen events can share two or three inserts instead of taking one each.
   * @default 0
   */
  readonly lingerMs?: number;
}

/** One event waiting to be appended, and the caller waiting for the answer. */
interface Waiting {
  readonly id: string;
  readonly facts: ReturnType<typeof factsOf>;
  attempts: number;
  readonly resolve: (outcome: 'appended' | 'duplicate') => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Appends events to the hash chain and checks the chain. Appends are group-committed: the first event waits up to
 * `lingerMs` for others, and while one insert is on its way the events that arrive meanwhile wait too; the next write
 * inserts them all as consecutive records in one round trip. Each caller still learns its own outcome.
 */
export class AuditTrail {
  private readonly now: () => Date;
  private readonly maxAttempts: number;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  /** Ends the current linger early (a full batch is queued). */
  private lingering: (() => void) | undefined;
  /** The last record this trail appended or read: the next append links to it without reading the log first. */
  private knownHead: AuditRecord | undefined;
  private readonly queue: Waiting[] = [];
  private writing = false;

  constructor(private readonly props: AuditTrailProps) {
    this.now = props.now ?? (() => new Date());
    this.maxAttempts = props.maxAttempts ?? 100;
    this.maxBatch = props.maxBatch ?? 100;
    this.lingerMs = props.lingerMs ?? 0;
  }

  /**
   * Inserts the next seq linked to the head this trail last saw (read from the log only when there is none), so an
   * append costs no read. Another writer (a replica) having taken that seq makes us read the new head and try again;
   * finding the event already recorded ends it: the unique event id makes appends idempotent, redeliveries included.
   */
  append(envelope: EventEnvelope): Promise<'appended' | 'duplicate'> {
    const facts = factsOf(envelope);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: envelope.id, facts, attempts: 0, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.lingering?.();
      void this.write();
    });
  }

  private async write(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      if (this.lingerMs > 0 && this.queue.length < this.maxBatch) await this.linger();
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.insertBatch(batch);
        } catch (err) {
          this.knownHead = undefined;
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** Waits `lingerMs`, or less if the queue fills a batch meanwhile. */
  private linger(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.lingering = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.lingerMs);
      this.lingering = done;
    });
  }

  /** Inserts the batch as consecutive records; what was refused goes back to the front of the queue, or is settled. */
  private async insertBatch(batch: Waiting[]): Promise<void> {
    const head = this.knownHead ?? (await this.props.log.head());
    const at = this.now().toISOString();
    const records: AuditRecord[] = [];
    let previous = head;
    for (const w of batch) {
      const record = seal(w.facts, (previous?.seq ?? 0) + 1, previous?.hash ?? GENESIS_HASH, at);
      records.push(record);
      previous = record;
    }
    const { inserted, refused } = await this.props.log.insertMany(records);
    if (inserted > 0) this.knownHead = records[inserted - 1];
    for (const w of batch.slice(0, inserted)) w.resolve('appended');
    if (refused === undefined) return;
    const [stopped, ...rest] = batch.slice(inserted);
    if (refused === 'duplicate') {
      stopped.resolve('duplicate');
      this.queue.unshift(...rest);
      return;
    }
    // Another writer took that seq: read the new head, and spread retries so replicas do not collide in lockstep.
    this.knownHead = undefined;
    stopped.attempts++;
    if (stopped.attempts >= this.maxAttempts) {
      stopped.reject(
        new Error(`audit: could not append event ${stopped.id} after ${this.maxAttempts} attempts`),
      );
      this.queue.unshift(...rest);
      return;
    }
    this.queue.unshift(stopped, ...rest);
    if (stopped.attempts > 1) await sleep(Math.floor(Math.random() * Math.min(50, stopped.attempts * 5)));
  }

  /** Walks the whole chain in seq order and names the first record that does not follow from the one before. */
  async verify(): Promise<VerifyResult> {
    let previous: AuditRecord | undefined;
    let records = 0;
    let firstInvalid: VerifyResult['firstInvalid'];
    for await (const record of this.props.log.scan()) {
      records++;
      if (!firstInvalid) {
        const reason = defectOf(previous, record);
        if (reason) firstInvalid = { seq: record.seq, id: record.id, reason };
      }
      previous = record;
    }
    return firstInvalid ? { ok: false, records, firstInvalid } : { ok: true, records };
  }
}
