import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedLock } from '@meshmart/kit';
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
}

/** Appends events to the hash chain and checks the chain. */
export class AuditTrail {
  private readonly now: () => Date;
  private readonly maxAttempts: number;
  // The consumers of every topic append to one chain: in one process they take turns instead of racing for each seq
  // (each lost race costs a head lookup and a refused insert); other replicas are still settled by the unique seq.
  private readonly appends = new KeyedLock();
  /** The last record this trail appended or read: the next append links to it without reading the log first. */
  private knownHead: AuditRecord | undefined;

  constructor(private readonly props: AuditTrailProps) {
    this.now = props.now ?? (() => new Date());
    this.maxAttempts = props.maxAttempts ?? 100;
  }

  /**
   * Inserts the next seq linked to the head this trail last saw (read from the log only when there is none), so an
   * append is one insert. Another writer (a replica) having taken that seq makes us read the new head and try again;
   * finding the event already recorded ends it: the unique event id makes appends idempotent, redeliveries included.
   */
  append(envelope: EventEnvelope): Promise<'appended' | 'duplicate'> {
    return this.appends.run('chain', () => this.appendNow(envelope));
  }

  private async appendNow(envelope: EventEnvelope): Promise<'appended' | 'duplicate'> {
    const facts = factsOf(envelope);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const head = attempt === 1 && this.knownHead ? this.knownHead : await this.props.log.head();
      const record = seal(facts, (head?.seq ?? 0) + 1, head?.hash ?? GENESIS_HASH, this.now().toISOString());
      const result = await this.props.log.insert(record);
      if (result === 'inserted') {
        this.knownHead = record;
        return 'appended';
      }
      if (result === 'duplicate') return 'duplicate';
      this.knownHead = undefined;
      if (attempt === 1) continue; // our head was stale: read the log now, no need to wait
      // Spread retries so a few writers do not collide in lockstep.
      await sleep(Math.floor(Math.random() * Math.min(50, attempt * 5)));
    }
    throw new Error(`audit: could not append event ${envelope.id} after ${this.maxAttempts} attempts`);
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
