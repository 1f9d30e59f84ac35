import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import {
  createEnvelope,
  defaultConsumerName,
  envelopeTraceFields,
  drain,
  errorMessage,
  EventMetrics,
  isPoison,
  resolveSubscribeOptions,
  tracedHandle,
  tracedPublish,
  type DeadLetter,
  type DeadLetterQuery,
  type EventBus,
  type EventEnvelope,
  type NewEvent,
  type RedriveOptions,
  type ResolvedSubscribeOptions,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.ts';

export interface RedisStreamEventBusProps {
  /** Shared connection for non-blocking commands; the bus never closes it. Must not use ioredis `keyPrefix`. */
  readonly client: Redis;
  /** Publishing service, stamped on envelopes. */
  readonly source: string;
  /** @default 'events:' */
  readonly keyPrefix?: string;
  /** Approximate cap per stream (`XADD MAXLEN ~`), dead-letter streams included. @default no trimming */
  readonly maxLen?: number;
  /** Longest single `XREADGROUP BLOCK`. @default 2000 */
  readonly blockMs?: number;
  readonly registry?: Registry;
  readonly logger?: Logger;
}

type Fields = string[];
type StreamEntry = [id: string, fields: Fields];

const META = ['reason', 'attempts', 'group', 'streamId', 'deadLetteredAt'];

/**
 * Redis Streams: one stream per topic (`<prefix><topic>`), one consumer group per service, dead letters in
 * `<prefix><topic>.dlq`. A new group starts at `0`, so a service deployed after events were published still gets
 * every retained one. Failed deliveries stay pending and are re-claimed after the retry delay (`XPENDING IDLE` +
 * `XCLAIM`, which counts deliveries); the delivery that reaches `maxDeliveries` is dead-lettered.
 */
export class RedisStreamEventBus implements EventBus {
  readonly keyPrefix: string;
  private readonly metrics: EventMetrics;
  private readonly subscriptions = new Set<StreamSubscription>();
  private closed = false;

  constructor(readonly props: RedisStreamEventBusProps) {
    this.keyPrefix = props.keyPrefix ?? 'events:';
    this.metrics = new EventMetrics(props.registry);
  }

  get client(): Redis {
    return this.props.client;
  }

  streamKey(topic: string): string {
    return `${this.keyPrefix}${topic}`;
  }

  dlqKey(topic: string): string {
    return `${this.keyPrefix}${topic}.dlq`;
  }

  trim(): (string | number)[] {
    return this.props.maxLen === undefined ? [] : ['MAXLEN', '~', this.props.maxLen];
  }

  async publish<T>(topic: string, event: NewEvent<T>): Promise<EventEnvelope<T>> {
    if (this.closed) throw new Error('RedisStreamEventBus is closed');
    const sent = await tracedPublish(
      createEnvelope(topic, event, this.props.source),
      async (envelope) => {
        await this.client.call('XADD', this.streamKey(topic), ...this.trim(), '*', ...encode(envelope));
      },
      event.context,
    );
    this.metrics.published?.inc({ topic });
    return sent;
  }

  async subscribe<T = unknown>(options: SubscribeOptions<T>): Promise<Subscription> {
    if (this.closed) throw new Error('RedisStreamEventBus is closed');
    const resolved = resolveSubscribeOptions(
      options,
      defaultConsumerName(),
    ) as ResolvedSubscribeOptions<unknown>;
    await this.createGroup(options.topic, options.group);
    const subscription = new StreamSubscription(this, resolved, this.metrics, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  async createGroup(topic: string, group: string): Promise<void> {
    try {
      await this.client.call('XGROUP', 'CREATE', this.streamKey(topic), group, '0', 'MKSTREAM');
    } catch (err) {
      if (!errorMessage(err).startsWith('BUSYGROUP')) throw err;
    }
  }

  async deadLetters(topic: string, query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    const entries = (await this.client.call(
      'XRANGE',
      this.dlqKey(topic),
      '-',
      '+',
      'COUNT',
      query.limit ?? 100,
    )) as StreamEntry[];
    return entries.map(([id, fields]) => toDeadLetter(topic, id, fields));
  }

  async redrive(topic: string, options: RedriveOptions = {}): Promise<number> {
    const dlq = this.dlqKey(topic);
    let moved = 0;
    const move = async ([id, fields]: StreamEntry): Promise<void> => {
      const original: Fields = [];
      for (let i = 0; i < fields.length; i += 2) {
        if (!META.includes(fields[i])) original.push(fields[i], fields[i + 1]);
      }
      const results = await this.client
        .multi()
        .call('XADD', this.streamKey(topic), ...this.trim(), '*', ...original)
        .xdel(dlq, id)
        .exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0]!;
      if (results?.[1]?.[1] === 1) moved++;
    };
    if (options.ids) {
      for (const id of options.ids) {
        const [entry] = (await this.client.call('XRANGE', dlq, id, id)) as StreamEntry[];
        if (entry) await move(entry);
      }
    } else {
      // Bounded by the newest entry now, so messages that fail again during the redrive are not looped.
      const [last] = (await this.client.call('XREVRANGE', dlq, '+', '-', 'COUNT', 1)) as StreamEntry[];
      let start = '-';
      while (last) {
        const batch = (await this.client.call('XRANGE', dlq, start, last[0], 'COUNT', 100)) as StreamEntry[];
        if (batch.length === 0) break;
        for (const entry of batch) await move(entry);
        start = `(${batch[batch.length - 1][0]}`;
      }
    }
    if (moved > 0) this.metrics.redriven?.inc({ topic }, moved);
    return moved;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }
}

class StreamSubscription implements Subscription {
  readonly topic: string;
  readonly group: string;
  readonly consumer: string;
  private readonly key: string;
  private readonly blocking: Redis;
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopped: Promise<void>;
  private stop!: () => void;
  private loop: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Handled messages waiting for the next XACK, and that XACK (sent on the next turn of the event loop). */
  private acks: string[] = [];
  private ackFlush: Promise<void> | undefined;
  private closed = false;
  /** Set once close() stops waiting: late handler results are left for another consumer to reclaim. */
  private abandoned = false;

  constructor(
    private readonly bus: RedisStreamEventBus,
    private readonly options: ResolvedSubscribeOptions<unknown>,
    private readonly metrics: EventMetrics,
    private readonly onClose: () => void,
  ) {
    this.topic = options.topic;
    this.group = options.group;
    this.consumer = options.consumer;
    this.key = bus.streamKey(options.topic);
    // XREADGROUP BLOCK holds its connection, so each subscription reads on its own.
    this.blocking = bus.client.duplicate();
    this.blocking.on('error', (err: Error) => {
      if (!this.closed) this.log('warn', { err }, 'event bus blocking connection error');
    });
    this.stopped = new Promise((resolve) => (this.stop = resolve));
  }

  start(): void {
    this.loop = this.run();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.stop();
    this.blocking.disconnect();
    await this.loop;
    await drain(new Set(this.running.values()), this.options.drainTimeoutMs);
    this.abandoned = true;
    this.onClose();
    try {
      // Forget this consumer's name unless it still holds messages (deleting it would drop them).
      const mine = (await this.bus.client.call(
        'XPENDING',
        this.key,
        this.group,
        '-',
        '+',
        1,
        this.consumer,
      )) as [];
      if (mine.length === 0)
        await this.bus.client.call('XGROUP', 'DELCONSUMER', this.key, this.group, this.consumer);
    } catch (err) {
      this.log('debug', { err }, 'could not remove consumer');
    }
  }

  private get client(): Redis {
    return this.bus.client;
  }

  private async run(): Promise<void> {
    const { concurrency, retryDelayMs, reclaimIdleMs, readLingerMs } = this.options;
    const reclaimEvery = Math.max(10, Math.min(retryDelayMs, reclaimIdleMs) / 2);
    const blockMs = this.bus.props.blockMs ?? 2000;
    let nextReclaim = Number.NEGATIVE_INFINITY;
    let backoff = 0;
    while (!this.closed) {
      try {
        if (this.running.size >= concurrency) {
          await Promise.race([this.stopped, ...this.running.values()]);
          continue;
        }
        if (performance.now() >= nextReclaim) {
          await this.reclaim();
          nextReclaim = performance.now() + reclaimEvery;
          continue;
        }
        const free = concurrency - this.running.size;
        const block = Math.max(1, Math.min(blockMs, Math.ceil(nextReclaim - performance.now())));
        const reply = (await this.blocking.call(
          'XREADGROUP',
          'GROUP',
          this.group,
          this.consumer,
          'COUNT',
          free,
          'BLOCK',
          block,
          'STREAMS',
          this.key,
          '>',
        )) as [string, StreamEntry[]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        for (const [id, fields] of entries) this.dispatch(id, fields, 1);
        backoff = 0;
        if (entries.length > 0 && readLingerMs > 0) await Promise.race([this.stopped, sleep(readLingerMs)]);
      } catch (err) {
        if (this.closed) break;
        if (errorMessage(err).startsWith('NOGROUP')) {
          await this.bus.createGroup(this.topic, this.group).catch(() => undefined);
          continue;
        }
        backoff = Math.min(Math.max(backoff * 2, 100), 5000);
        this.log('warn', { err, backoffMs: backoff }, 'event bus read failed; retrying');
        await Promise.race([this.stopped, sleep(backoff)]);
      }
    }
  }

  /** Takes over messages idle past `reclaimIdleMs`: failed ones waiting for a retry, or held by a dead consumer. */
  private async reclaim(): Promise<void> {
    const { reclaimIdleMs, maxDeliveries, concurrency } = this.options;
    const pending = (await this.client.call(
      'XPENDING',
      this.key,
      this.group,
      'IDLE',
      reclaimIdleMs,
      '-',
      '+',
      100,
    )) as [string, string, number, number][];
    for (const [id, , , deliveries] of pending) {
      if (this.closed) return;
      if (this.running.has(id)) continue;
      if (deliveries >= maxDeliveries) {
        const claimed = (await this.claim(id, true)) as string[];
        if (claimed.length === 0) continue;
        const [entry] = (await this.client.call('XRANGE', this.key, id, id)) as StreamEntry[];
        const reason = `not acknowledged after ${deliveries} deliveries`;
        await this.deadLetter(id, entry?.[1] ?? [], reason, deliveries);
        this.metrics.outcome(this.topic, this.group, 'dead_letter');
        continue;
      }
      if (this.running.size >= concurrency) continue;
      // XCLAIM's min-idle check makes the take-over atomic between competing consumers; it counts the delivery.
      const [entry] = (await this.claim(id, false)) as StreamEntry[];
      if (entry) this.dispatch(entry[0], entry[1], deliveries + 1);
    }
  }

  private claim(id: string, justId: boolean): Promise<unknown> {
    const args = ['XCLAIM', this.key, this.group, this.consumer, this.options.reclaimIdleMs, id];
    return this.client.call(...(args as [string, ...(string | number)[]]), ...(justId ? ['JUSTID'] : []));
  }

  private dispatch(id: string, fields: Fields, attempt: number): void {
    const run = this.handle(id, fields, attempt)
      .catch((err: unknown) => this.log('error', { err, streamId: id }, 'event bus bookkeeping failed'))
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  private async handle(id: string, fields: Fields, attempt: number): Promise<void> {
    let envelope: EventEnvelope;
    try {
      envelope = decode(this.topic, fields);
    } catch (err) {
      await this.deadLetter(id, fields, `malformed event: ${errorMessage(err)}`, attempt);
      this.metrics.outcome(this.topic, this.group, 'dead_letter');
      return;
    }
    const started = performance.now();
    const delivery = { group: this.group, consumer: this.consumer, attempt };
    try {
      await tracedHandle(envelope, delivery, this.options.handler);
    } catch (err) {
      if (this.abandoned) return;
      const seconds = (performance.now() - started) / 1000;
      if (isPoison(err) || attempt >= this.options.maxDeliveries) {
        await this.deadLetter(id, fields, errorMessage(err), attempt);
        this.metrics.outcome(this.topic, this.group, 'dead_letter', seconds);
        return;
      }
      // Keep it pending but backdate its idle time, so any consumer's reclaim picks it up after retryDelayMs.
      const idle = Math.max(0, this.options.reclaimIdleMs - this.options.retryDelayMs);
      await this.client.call('XCLAIM', this.key, this.group, this.consumer, 0, id, 'IDLE', idle, 'JUSTID');
      this.metrics.outcome(this.topic, this.group, 'retry', seconds);
      this.log(
        'warn',
        { err, eventId: envelope.id, attempt, ...envelopeTraceFields(envelope) },
        'event handler failed; will retry',
      );
      return;
    }
    if (this.abandoned) return;
    await this.ack(id);
    this.metrics.outcome(this.topic, this.group, 'ok', (performance.now() - started) / 1000);
  }

  /**
   * Acknowledges `id` with the other messages whose handlers finished in the same turn of the event loop: one XACK for
   * a batch (a consumer whose handlers finish together, as the audit's group commit does, sends one for all of them).
   * Resolves once that XACK is answered; until then the message is pending, as if its handler were still running.
   */
  private ack(id: string): Promise<void> {
    this.acks.push(id);
    this.ackFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const ids = this.acks;
      this.acks = [];
      this.ackFlush = undefined;
      return this.client.xack(this.key, this.group, ...ids).then(() => undefined);
    });
    return this.ackFlush;
  }

  private async deadLetter(id: string, fields: Fields, reason: string, attempts: number): Promise<void> {
    const meta = ['reason', reason, 'attempts', String(attempts), 'group', this.group, 'streamId', id];
    const results = await this.client
      .multi()
      .call(
        'XADD',
        this.bus.dlqKey(this.topic),
        ...this.bus.trim(),
        '*',
        ...fields,
        ...meta,
        'deadLetteredAt',
        new Date().toISOString(),
      )
      .xack(this.key, this.group, id)
      .exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0]!;
    const traceparent = toRecord(fields).traceparent;
    this.log(
      'error',
      { streamId: id, attempts, reason, ...envelopeTraceFields({ headers: { traceparent } }) },
      'event dead-lettered',
    );
  }

  private log(level: 'debug' | 'warn' | 'error', fields: object, msg: string): void {
    this.bus.props.logger?.[level](
      { topic: this.topic, group: this.group, consumer: this.consumer, ...fields },
      msg,
    );
  }
}

function encode(envelope: EventEnvelope): Fields {
  const fields = [
    'id',
    envelope.id,
    'type',
    envelope.type,
    'version',
    String(envelope.version),
    'occurredAt',
    envelope.occurredAt,
    'source',
    envelope.source,
    'data',
    JSON.stringify(envelope.data) ?? 'null',
  ];
  if (envelope.headers.traceparent) fields.push('traceparent', envelope.headers.traceparent);
  if (envelope.headers.tracestate) fields.push('tracestate', envelope.headers.tracestate);
  return fields;
}

function toRecord(fields: Fields): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) record[fields[i]] = fields[i + 1]!;
  return record;
}

function decode(topic: string, fields: Fields): EventEnvelope {
  const f = toRecord(fields);
  const version = Number(f.version);
  if (!f.id || !f.type || !f.occurredAt || !f.source || f.data === undefined || !Number.isInteger(version)) {
    throw new Error(`missing or invalid fields (has ${Object.keys(f).join(', ')})`);
  }
  const headers: { traceparent?: string; tracestate?: string } = {};
  if (f.traceparent) headers.traceparent = f.traceparent;
  if (f.tracestate) headers.tracestate = f.tracestate;
  return {
    id: f.id,
    topic,
    type: f.type,
    version,
    occurredAt: f.occurredAt,
    source: f.source,
    data: JSON.parse(f.data) as unknown,
    headers: headers,
  };
}

function toDeadLetter(topic: string, id: string, fields: Fields): DeadLetter {
  const f = toRecord(fields);
  let envelope: EventEnvelope;
  try {
    envelope = decode(topic, fields);
  } catch {
    // A malformed original is still listed, with its raw fields as data, so it can be inspected.
    envelope = {
      id: f.id ?? '',
      topic,
      type: f.type ?? '',
      version: Number(f.version) || 0,
      occurredAt: f.occurredAt ?? '',
      source: f.source ?? '',
      data: f,
      headers: {},
    };
  }
  return {
    id,
    envelope,
    reason: f.reason ?? '',
    attempts: Number(f.attempts),
    group: f.group ?? '',
    deadLetteredAt: f.deadLetteredAt ?? '',
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
