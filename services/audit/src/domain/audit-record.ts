import { createHash } from 'node:crypto';
import type { EventEnvelope } from '@meshmart/kit/events';

/** What an event says about who did what to which resource, before it takes its place in the chain. */
export interface AuditFacts {
  /** The envelope id: the same event recorded twice is one record. */
  readonly id: string;
  /** When it happened (the envelope's occurredAt). */
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly resource: string;
  readonly topic: string;
  readonly traceId: string | null;
  readonly data: unknown;
}

export interface AuditRecord extends AuditFacts {
  readonly seq: number;
  readonly recordedAt: string;
  /** The hash of the record before (GENESIS_HASH for the first). */
  readonly prevHash: string;
  /** sha256 of the canonical JSON of every other field, prevHash included. */
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export type InvalidReason = 'hash mismatch' | 'broken link' | 'gap in sequence';

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** Per topic, the field naming the resource an event is about. */
const RESOURCE_OF: Readonly<Record<string, readonly [kind: string, field: string][]>> = {
  'catalog.events': [['product', 'productId']],
  'inventory.events': [
    ['reservation', 'reservationId'],
    ['product', 'productId'],
  ],
  'payments.events': [['payment', 'paymentId']],
  'orders.events': [['order', 'orderId']],
  'checkout.events': [['saga', 'sagaId']],
};

export function factsOf(envelope: EventEnvelope): AuditFacts {
  const data = (envelope.data ?? {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const v = data[key];
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  return {
    id: envelope.id,
    at: envelope.occurredAt,
    actor: text('actor') ?? text('userId') ?? `service:${envelope.source}`,
    action: envelope.type,
    resource: text('resource') ?? resourceOf(envelope.topic, text) ?? envelope.topic,
    topic: envelope.topic,
    traceId: TRACEPARENT.exec(envelope.headers.traceparent ?? '')?.[1] ?? text('traceId') ?? null,
    data: envelope.data,
  };
}

function resourceOf(topic: string, text: (key: string) => string | undefined): string | undefined {
  for (const [kind, field] of RESOURCE_OF[topic] ?? []) {
    const id = text(field);
    if (id) return `${kind}/${id}`;
  }
  return undefined;
}

export function seal(facts: AuditFacts, seq: number, prevHash: string, recordedAt: string): AuditRecord {
  const unsealed = { ...facts, seq, recordedAt, prevHash };
  return { ...unsealed, hash: hashOf(unsealed) };
}

export function hashOf(record: Omit<AuditRecord, 'hash'>): string {
  const { seq, id, at, recordedAt, actor, action, resource, topic, traceId, data, prevHash } = record;
  const content = { seq, id, at, recordedAt, actor, action, resource, topic, traceId, data, prevHash };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** Why `record` does not follow `previous` in a sound chain, or undefined when it does. */
export function defectOf(previous: AuditRecord | undefined, record: AuditRecord): InvalidReason | undefined {
  if (record.seq !== (previous ? previous.seq + 1 : 1)) return 'gap in sequence';
  const { hash, ...rest } = record;
  if (hashOf(rest) !== hash) return 'hash mismatch';
  if (record.prevHash !== (previous ? previous.hash : GENESIS_HASH)) return 'broken link';
  return undefined;
}

/** JSON with object keys sorted at every level: the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
