// What must hold after a chaos run, read from where each fact lives: the services' databases, the Redis streams
// and consumer groups, the audit service's own verification, and what the customers were told. Each invariant is a
// row of the table `make chaos` prints; the run fails when one does not hold.
import { isDeepStrictEqual } from 'node:util';
import type { Document } from 'mongodb';
import { TOPICS, type ServiceName } from '@meshmart/catalogue';
import {
  fold,
  type OrderView,
  type StoredOrderEvent,
} from '../../../services/orders/src/domain/order-aggregate.ts';
import type { Cluster } from './cluster.ts';
import type { CheckoutRecord } from './customers.ts';

export interface Invariant {
  readonly name: string;
  readonly holds: boolean;
  /** Counts when it holds; the first offenders when it does not. */
  readonly detail: string;
}

export interface DeadLetterRow {
  readonly topic: string;
  readonly group: string;
  readonly type: string;
  readonly reason: string;
}

export interface Facts {
  readonly sagas: Readonly<Record<string, number>>;
  readonly orders: Readonly<Record<string, number>>;
  readonly payments: Readonly<Record<string, number>>;
  readonly reservations: Readonly<Record<string, number>>;
  readonly events: number;
  readonly auditRecords: number;
  readonly deadLetters: readonly DeadLetterRow[];
}

export interface Verdict {
  readonly invariants: readonly Invariant[];
  readonly facts: Facts;
  readonly ok: boolean;
}

export interface InvariantInput {
  readonly cluster: Cluster;
  /** What the customers were told; absent when the load was not the chaos customers' (the rolling restart). */
  readonly records?: readonly CheckoutRecord[];
  /** Units each product was given by PUT /admin/stock before the run. */
  readonly initialStock: ReadonlyMap<string, number>;
  /** Stream lengths before and after each Redis restart. */
  readonly redisRestarts?: readonly { before: Record<string, number>; after: Record<string, number> }[];
}

const OUTBOX_COLLECTIONS: readonly [ServiceName, string][] = [
  ['catalog', 'products'],
  ['inventory', 'stock'],
  ['inventory', 'reservations'],
  ['payments', 'payments'],
  ['orders', 'order_events'],
  ['checkout', 'sagas'],
];

const FINAL_SAGA = new Set(['COMPLETED', 'COMPENSATED', 'FAILED']);
/** Events a reservation has published by its status (REJECTED ones never held anything). */
const RESERVATION_EVENTS: Readonly<Record<string, number>> = {
  PENDING: 0,
  REJECTED: 0,
  HELD: 1,
  COMMITTED: 2,
  RELEASED: 2,
  EXPIRED: 2,
};

interface StreamEvent {
  readonly id: string;
  readonly topic: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

const count = <T>(items: Iterable<T>, key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};

const show = (counts: Readonly<Record<string, number>>): string =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

function rule(name: string, offenders: readonly string[], summary: string): Invariant {
  const holds = offenders.length === 0;
  const listed = offenders.slice(0, 5).join('; ');
  return {
    name,
    holds,
    detail: holds
      ? summary
      : `${offenders.length} violation(s): ${listed}${offenders.length > 5 ? '; …' : ''}`,
  };
}

/** Every stream entry of every topic of the run, by envelope id (an outbox may publish one event twice). */
async function streamEvents(input: InvariantInput): Promise<Map<string, StreamEvent>> {
  const { redis, redisPrefix } = input.cluster;
  const events = new Map<string, StreamEvent>();
  for (const topic of TOPICS) {
    let start = '-';
    for (;;) {
      const batch = (await redis.call(
        'XRANGE',
        `${redisPrefix}events:${topic}`,
        start,
        '+',
        'COUNT',
        1000,
      )) as [string, string[]][];
      for (const [, fields] of batch) {
        const f: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
        events.set(f.id, { id: f.id, topic, type: f.type, data: JSON.parse(f.data ?? 'null') ?? {} });
      }
      if (batch.length < 1000) break;
      start = `(${batch[batch.length - 1][0]}`;
    }
  }
  return events;
}

interface GroupState {
  readonly stream: string;
  readonly group: string;
  readonly pending: number;
  readonly lag: number | null;
  readonly behind: boolean;
}

async function groups(input: InvariantInput): Promise<GroupState[]> {
  const { redis, redisPrefix } = input.cluster;
  const out: GroupState[] = [];
  for (const topic of TOPICS) {
    const key = `${redisPrefix}events:${topic}`;
    if ((await redis.exists(key)) === 0) continue;
    const info = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
    const lastId = String(info[info.indexOf('last-generated-id') + 1]);
    for (const raw of (await redis.call('XINFO', 'GROUPS', key)) as unknown[][]) {
      const g: Record<string, unknown> = {};
      for (let i = 0; i < raw.length; i += 2) g[String(raw[i])] = raw[i + 1];
      out.push({
        stream: topic,
        group: String(g.name),
        pending: Number(g.pending),
        lag: g.lag === null || g.lag === undefined ? null : Number(g.lag),
        behind: String(g['last-delivered-id']) !== lastId,
      });
    }
  }
  return out;
}

async function deadLetters(input: InvariantInput): Promise<DeadLetterRow[]> {
  const { redis, redisPrefix } = input.cluster;
  const rows: DeadLetterRow[] = [];
  for (const topic of TOPICS) {
    const entries = (await redis.call('XRANGE', `${redisPrefix}events:${topic}.dlq`, '-', '+')) as [
      string,
      string[],
    ][];
    for (const [, fields] of entries) {
      const f: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      rows.push({ topic, group: f.group ?? '', type: f.type ?? '', reason: f.reason ?? '' });
    }
  }
  return rows;
}

/** Entries per stream of the run (dead-letter streams included), to compare across a Redis restart. */
export async function streamLengths(cluster: Cluster): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const topic of TOPICS)
    for (const key of [`events:${topic}`, `events:${topic}.dlq`])
      out[key] = await cluster.redis.xlen(`${cluster.redisPrefix}${key}`);
  return out;
}

/** How much is still moving: what `settle` waits on before the invariants are judged. */
export async function inFlight(input: InvariantInput): Promise<{ quiet: boolean; detail: string }> {
  const { cluster } = input;
  const db = (s: ServiceName) => cluster.mongo.db(cluster.database(s));
  const active = await db('checkout')
    .collection('sagas')
    .countDocuments({ status: { $in: ['RUNNING', 'COMPENSATING'] } });
  let outbox = 0;
  for (const [s, c] of OUTBOX_COLLECTIONS)
    outbox += await db(s)
      .collection(c)
      .countDocuments({ 'outbox.0': { $exists: true } });
  const open = (await groups(input)).filter((g) => g.pending > 0 || g.behind);
  const heldReservations = await db('inventory')
    .collection('reservations')
    .countDocuments({ status: { $in: ['PENDING', 'HELD'] } });
  const quiet = active === 0 && outbox === 0 && open.length === 0 && heldReservations === 0;
  return {
    quiet,
    detail: `${active} sagas active, ${heldReservations} reservations open, ${outbox} outbox documents, ${open.length} consumer groups behind`,
  };
}

export async function judge(input: InvariantInput): Promise<Verdict> {
  const { cluster, records } = input;
  const db = (s: ServiceName) => cluster.mongo.db(cluster.database(s));
  const all = <T extends Document>(s: ServiceName, c: string) => db(s).collection<T>(c).find({}).toArray();

  const sagas = await all('checkout', 'sagas');
  const orderEvents = await db('orders')
    .collection('order_events')
    .find({})
    .sort({ orderId: 1, version: 1 })
    .toArray();
  const views = await all('orders', 'orders_view');
  const stock = await all('inventory', 'stock');
  const reservations = await all('inventory', 'reservations');
  const payments = await all('payments', 'payments');
  const audit = await db('audit')
    .collection('audit')
    .find({}, { projection: { _id: 0, id: 1, seq: 1 } })
    .toArray();
  const events = await streamEvents(input);
  const groupStates = await groups(input);
  const dead = await deadLetters(input);
  const invariants: Invariant[] = [];

  // Orders, folded from their events.
  const byOrder = new Map<string, StoredOrderEvent[]>();
  for (const e of orderEvents) {
    const list = byOrder.get(String(e.orderId)) ?? [];
    list.push({
      id: e.eventId,
      type: e.type,
      version: e.version,
      occurredAt: e.occurredAt,
      data: e.data,
    });
    byOrder.set(String(e.orderId), list);
  }
  const folded = new Map<string, OrderView>();
  const foldErrors: string[] = [];
  for (const [id, list] of byOrder) {
    try {
      folded.set(id, fold(list)!);
    } catch (err) {
      foldErrors.push(`${id}: ${(err as Error).message}`);
    }
  }
  const orderStatus = (orderId: string): string => folded.get(orderId)?.status ?? 'MISSING';
  const sagaByOrder = new Map(sagas.map((s) => [String(s.orderId), s]));

  // 1. Customers: every checkout was accepted and answered.
  if (records) {
    const unsettled = records.filter((r) => r.outcome === 'UNSETTLED' || r.outcome === 'REFUSED');
    const sagaById = new Map(sagas.map((s) => [String(s._id), s]));
    const told = records.filter((r) => r.sagaId !== undefined);
    const disagree = told.flatMap((r) => {
      const saga = sagaById.get(r.sagaId!);
      if (!saga) return [`${r.key}: saga ${r.sagaId} missing`];
      const expected = r.outcome === 'CONFIRMED' ? 'COMPLETED' : 'COMPENSATED';
      return saga.status === expected ? [] : [`${r.key}: told ${r.outcome}, saga ${String(saga.status)}`];
    });
    invariants.push(
      rule(
        'every checkout was accepted and settled',
        unsettled.map((r) => `#${r.n} ${r.outcome}: ${r.reason ?? ''}`),
        `${records.length} checkouts: ${show(count(records, (r) => r.outcome))}`,
      ),
      rule(
        'what each customer was told is what happened',
        disagree,
        `${told.length} answers match their sagas; ${records.reduce((n, r) => n + r.retries, 0)} requests retried by customers`,
      ),
    );
  }

  // 2. Sagas.
  const sagaCounts = count(sagas, (s) => String(s.status));
  invariants.push(
    rule(
      'every saga reached a final state',
      sagas
        .filter((s) => !FINAL_SAGA.has(String(s.status)))
        .map((s) => `${String(s._id)} ${String(s.status)}`),
      `${sagas.length} sagas: ${show(sagaCounts)}`,
    ),
    rule(
      'no saga needs an operator',
      sagas.filter((s) => s.status === 'FAILED').map((s) => `${String(s._id)}: ${String(s.reason)}`),
      'no FAILED saga',
    ),
    rule(
      'each order ended as its saga did',
      [
        ...foldErrors,
        ...sagas.flatMap((s) => {
          const want =
            s.status === 'COMPLETED' ? 'CONFIRMED' : s.status === 'COMPENSATED' ? 'CANCELLED' : undefined;
          const got = orderStatus(String(s.orderId));
          if (want === undefined) return [];
          // A saga compensated before its first step placed the order has no order at all.
          if (got === 'MISSING' && want === 'CANCELLED') return [];
          return got === want ? [] : [`order ${String(s.orderId)} ${got}, saga ${String(s.status)}`];
        }),
        ...[...folded.values()].filter((o) => !sagaByOrder.has(o.id)).map((o) => `order ${o.id} has no saga`),
      ],
      `${folded.size} orders: ${show(count(folded.values(), (o) => o.status))}`,
    ),
  );

  // 3. Stock.
  const sold = new Map<string, number>();
  for (const r of reservations)
    if (r.status === 'COMMITTED')
      for (const i of r.items as { productId: string; quantity: number }[])
        sold.set(i.productId, (sold.get(i.productId) ?? 0) + i.quantity);
  const ordered = new Map<string, number>();
  for (const o of folded.values())
    if (o.status === 'CONFIRMED')
      for (const i of o.items) ordered.set(i.productId, (ordered.get(i.productId) ?? 0) + i.quantity);
  const stockOffenders: string[] = [];
  const heldOffenders: string[] = [];
  const soldOffenders: string[] = [];
  for (const s of stock) {
    const id = String(s._id);
    const initial = input.initialStock.get(id);
    const available = Number(s.available);
    const reserved = Number(s.reserved);
    const units = sold.get(id) ?? 0;
    if (initial === undefined) continue;
    if (available < 0 || reserved < 0 || available + reserved + units !== initial)
      stockOffenders.push(
        `${id}: ${initial} != ${available} available + ${reserved} reserved + ${units} sold`,
      );
    if (reserved !== 0 || ((s.holds as unknown[] | undefined)?.length ?? 0) > 0)
      heldOffenders.push(`${id}: ${reserved} reserved, holds ${JSON.stringify(s.holds)}`);
    if (units !== (ordered.get(id) ?? 0))
      soldOffenders.push(`${id}: ${units} sold, ${ordered.get(id) ?? 0} in confirmed orders`);
  }
  const missingStock = [...input.initialStock.keys()].filter(
    (id) => !stock.some((s) => String(s._id) === id),
  );
  const totalSold = [...sold.values()].reduce((a, b) => a + b, 0);
  invariants.push(
    rule(
      'per product, initial stock = available + reserved + sold, none negative',
      [...stockOffenders, ...missingStock.map((id) => `${id}: no stock document`)],
      `${input.initialStock.size} products, ${totalSold} units sold`,
    ),
    rule(
      'no units left held',
      [
        ...heldOffenders,
        ...reservations
          .filter((r) => r.status === 'PENDING' || r.status === 'HELD')
          .map((r) => `reservation ${String(r._id)} ${String(r.status)}`),
      ],
      `${reservations.length} reservations: ${show(count(reservations, (r) => String(r.status)))}`,
    ),
    rule('units sold = units of confirmed orders', soldOffenders, `${totalSold} units in both`),
  );

  // 4. Payments.
  const paymentsByOrder = new Map<string, Document[]>();
  for (const p of payments) {
    const list = paymentsByOrder.get(String(p.orderId)) ?? [];
    list.push(p);
    paymentsByOrder.set(String(p.orderId), list);
  }
  const captured = (p: Document) => Number(p.capturedCents) > 0;
  const compensated = (orderId: string): boolean =>
    ((sagaByOrder.get(orderId)?.log as { event: string; step?: string }[] | undefined) ?? []).some(
      (e) => e.event === 'compensation-succeeded' && e.step === 'authorizePayment',
    );
  invariants.push(
    rule(
      'no capture without a CONFIRMED order',
      payments
        .filter((p) => captured(p) && orderStatus(String(p.orderId)) !== 'CONFIRMED')
        .map(
          (p) => `${String(p._id)} captured for order ${String(p.orderId)} ${orderStatus(String(p.orderId))}`,
        ),
      `${payments.filter(captured).length} captures`,
    ),
    rule(
      'every CONFIRMED order has exactly one capture of its total',
      [...folded.values()]
        .filter((o) => o.status === 'CONFIRMED')
        .flatMap((o) => {
          const caps = (paymentsByOrder.get(o.id) ?? []).filter(captured);
          if (caps.length !== 1) return [`order ${o.id}: ${caps.length} captures`];
          return Number(caps[0].capturedCents) === o.totalCents
            ? []
            : [`order ${o.id}: captured ${String(caps[0].capturedCents)} of ${o.totalCents}`];
        }),
      `${[...folded.values()].filter((o) => o.status === 'CONFIRMED').length} confirmed orders`,
    ),
    rule(
      'every void and refund matches a compensation',
      payments.flatMap((p) => {
        const orderId = String(p.orderId);
        if (Number(p.refundedCents) > 0) return [`${String(p._id)} refunded: the saga never refunds`];
        if (p.status !== 'VOIDED') return [];
        return orderStatus(orderId) === 'CANCELLED' && compensated(orderId)
          ? []
          : [`${String(p._id)} voided, order ${orderStatus(orderId)}, no compensation of authorizePayment`];
      }),
      `${payments.filter((p) => p.status === 'VOIDED').length} voids, ${payments.filter((p) => Number(p.refundedCents) > 0).length} refunds`,
    ),
    rule(
      'no authorization left open',
      payments
        .filter((p) => p.status === 'AUTHORIZED')
        .map((p) => `${String(p._id)} of order ${String(p.orderId)} ${orderStatus(String(p.orderId))}`),
      `${payments.length} payments: ${show(count(payments, (p) => String(p.status)))}`,
    ),
  );

  // 5. The read model.
  const viewOffenders: string[] = [];
  const viewById = new Map(views.map((v) => [String(v._id), v]));
  for (const [id, order] of folded) {
    const doc = viewById.get(id);
    if (!doc) {
      viewOffenders.push(`${id}: no view`);
      continue;
    }
    const { _id, ...rest } = doc;
    const view = JSON.parse(JSON.stringify({ id: _id, ...rest })) as unknown;
    if (!isDeepStrictEqual(view, JSON.parse(JSON.stringify(order))))
      viewOffenders.push(`${id}: view at version ${String(doc.version)} != fold at ${order.version}`);
  }
  for (const id of viewById.keys()) if (!folded.has(id)) viewOffenders.push(`${id}: a view without events`);
  invariants.push(
    rule(
      "each order's read model equals the fold of its events",
      viewOffenders,
      `${views.length} views, ${orderEvents.length} events`,
    ),
  );

  // 6. Events: every state change reached its stream, and every stream entry the audit trail, once.
  const eventsOf = (topic: string, field: string) => {
    const out = new Map<string, Set<string>>();
    for (const e of events.values()) {
      if (e.topic !== topic) continue;
      const key = e.data[field];
      if (typeof key !== 'string') continue;
      const set = out.get(key) ?? new Set<string>();
      set.add(e.type === 'StockAdjusted' ? `adjusted:${e.id}` : e.id);
      out.set(key, set);
    }
    return out;
  };
  const payEvents = eventsOf('payments.events', 'paymentId');
  const resEvents = eventsOf('inventory.events', 'reservationId');
  const sagaEvents = eventsOf('checkout.events', 'sagaId');
  let outboxLeft = 0;
  for (const [s, c] of OUTBOX_COLLECTIONS)
    outboxLeft += await db(s)
      .collection(c)
      .countDocuments({ 'outbox.0': { $exists: true } });
  invariants.push(
    rule(
      'every state change published its events',
      [
        ...(outboxLeft > 0 ? [`${outboxLeft} documents with unpublished outbox entries`] : []),
        ...orderEvents
          .filter((e) => !events.has(String(e.eventId)))
          .map((e) => `order event ${String(e.eventId)} (${String(e.type)}) not on orders.events`),
        ...payments.flatMap((p) => {
          const n = payEvents.get(String(p._id))?.size ?? 0;
          const want = (p.history as unknown[]).length;
          return n === want ? [] : [`payment ${String(p._id)}: ${want} changes, ${n} events`];
        }),
        ...reservations.flatMap((r) => {
          const n = resEvents.get(String(r._id))?.size ?? 0;
          const want = RESERVATION_EVENTS[String(r.status)] ?? -1;
          return n === want
            ? []
            : [`reservation ${String(r._id)} ${String(r.status)}: ${n} events, ${want} expected`];
        }),
        ...sagas.flatMap((s) => {
          const n = sagaEvents.get(String(s._id))?.size ?? 0;
          const want = FINAL_SAGA.has(String(s.status)) ? 2 : 1;
          return n === want ? [] : [`saga ${String(s._id)}: ${n} events, ${want} expected`];
        }),
      ],
      `${events.size} events on ${TOPICS.length} streams: ${show(count(events.values(), (e) => e.topic))}`,
    ),
  );
  const auditIds = count(audit, (a) => String(a.id));
  const verify = (await (
    await fetch(`${cluster.url('audit')}/audit/verify`, { headers: { 'x-admin-token': cluster.adminToken } })
  ).json()) as { ok: boolean; records: number; firstInvalid?: unknown };
  invariants.push(
    rule(
      'every event is in the audit trail exactly once',
      [
        ...[...events.keys()]
          .filter((id) => !auditIds[id])
          .map((id) => `${events.get(id)!.type} ${id} not audited`),
        ...Object.entries(auditIds)
          .filter(([, n]) => n > 1)
          .map(([id, n]) => `${id} audited ${n} times`),
        ...Object.keys(auditIds)
          .filter((id) => !events.has(id))
          .map((id) => `${id} audited but on no stream`),
      ],
      `${audit.length} records for ${events.size} events`,
    ),
    rule(
      'the audit chain verifies',
      verify.ok && verify.records === audit.length ? [] : [JSON.stringify(verify)],
      `GET /audit/verify: ok, ${verify.records} records`,
    ),
  );

  // 7. Messages.
  invariants.push(
    rule(
      'no message pending or undelivered in any consumer group',
      groupStates
        .filter((g) => g.pending > 0 || g.behind || (g.lag ?? 0) > 0)
        .map((g) => `${g.stream}/${g.group}: ${g.pending} pending, lag ${String(g.lag)}`),
      `${groupStates.length} groups on ${new Set(groupStates.map((g) => g.stream)).size} streams, all acknowledged`,
    ),
    rule(
      'no message dead-lettered',
      dead.map((d) => `${d.topic}/${d.group} ${d.type}: ${d.reason}`),
      'every <topic>.dlq empty',
    ),
  );
  if (input.redisRestarts && input.redisRestarts.length > 0) {
    invariants.push(
      rule(
        'no acknowledged stream entry lost by a Redis restart',
        input.redisRestarts.flatMap((r) =>
          Object.entries(r.before)
            .filter(([k, n]) => (r.after[k] ?? 0) < n)
            .map(([k, n]) => `${k}: ${n} entries before, ${r.after[k] ?? 0} after`),
        ),
        input.redisRestarts
          .map(
            (r) =>
              `${Object.values(r.before).reduce((a, b) => a + b, 0)} entries before the kill, ${Object.values(r.after).reduce((a, b) => a + b, 0)} after`,
          )
          .join('; '),
      ),
    );
  }

  return {
    invariants,
    ok: invariants.every((i) => i.holds),
    facts: {
      sagas: sagaCounts,
      orders: count(folded.values(), (o) => o.status),
      payments: count(payments, (p) => String(p.status)),
      reservations: count(reservations, (r) => String(r.status)),
      events: events.size,
      auditRecords: audit.length,
      deadLetters: dead,
    },
  };
}

/** The invariants as a markdown table. */
export function invariantTable(invariants: readonly Invariant[]): string {
  const rows = invariants.map(
    (i) => `| ${i.name} | ${i.holds ? 'holds' : '**VIOLATED**'} | ${i.detail.replace(/\|/g, '\\|')} |`,
  );
  return ['| invariant | result | detail |', '|---|---|---|', ...rows].join('\n');
}
