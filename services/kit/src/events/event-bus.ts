import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
} from '@opentelemetry/api';
import type { Counter, Histogram, Registry } from 'prom-client';
import { AppError } from '../errors.ts';
import { kitMetrics } from '../metric-declarations.ts';
import { DeclaredMetrics } from '../metrics.ts';

/** W3C trace context carried with an event so the consumer's span joins the publisher's trace. */
export interface TraceHeaders {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

export interface EventEnvelope<T = unknown> {
  /** UUID; stable across redeliveries, redrives and outbox retries, so consumers dedupe on it. */
  readonly id: string;
  readonly topic: string;
  /** Event type within the topic, e.g. `order.confirmed`. */
  readonly type: string;
  /** Schema version of `data`; a consumer that does not know it throws PoisonMessageError. */
  readonly version: number;
  /** ISO 8601 instant the fact happened (not when it was published). */
  readonly occurredAt: string;
  /** Publishing service. */
  readonly source: string;
  readonly data: T;
  readonly headers: TraceHeaders;
}

/** What a publisher supplies; the bus fills in the rest. Passing a complete envelope (an outbox entry) keeps its id. */
export interface NewEvent<T = unknown> {
  readonly type: string;
  readonly data: T;
  /** @default 1 */
  readonly version?: number;
  /** @default a new UUID */
  readonly id?: string;
  /** @default now */
  readonly occurredAt?: string;
  /** @default the bus's `source` */
  readonly source?: string;
  /** Trace context captured when the event was created; @default the headers of `context` */
  readonly headers?: TraceHeaders;
  /**
   * The trace context the event belongs to (a request's `trace`, a delivery's `context`); never serialised.
   * @default the active context, which is empty unless an AsyncLocalStorage context manager is registered
   */
  readonly context?: Context;
}

export interface Delivery {
  readonly group: string;
  readonly consumer: string;
  /** 1 on first delivery. */
  readonly attempt: number;
  /** The consumer span's context, to pass on to what the handler publishes or calls; set for every handler call. */
  readonly context?: Context;
}

/** Throwing (or rejecting) is a failed delivery: retried, then dead-lettered after `maxDeliveries`. */
export type EventHandler<T = unknown> = (event: EventEnvelope<T>, delivery: Delivery) => Promise<void> | void;

export interface SubscribeOptions<T = unknown> {
  readonly topic: string;
  /** Consumer group: every group gets every message; within a group one consumer handles each. */
  readonly group: string;
  /** @default `<hostname>-<pid>-<random>` */
  readonly consumer?: string;
  readonly handler: EventHandler<T>;
  /** Deliveries before a message is dead-lettered. @default 5 */
  readonly maxDeliveries?: number;
  /** Wait after a failed delivery before the next one. @default 1000 */
  readonly retryDelayMs?: number;
  /**
   * How long a delivery may stay unacknowledged before another consumer of the group takes it over (its consumer is
   * presumed dead). Must exceed the slowest handler, or slow messages are handled twice. @default 30000
   */
  readonly reclaimIdleMs?: number;
  /** Messages handled at once by this consumer (also the read batch size). @default 1 */
  readonly concurrency?: number;
  /** `close()` waits this long for running handlers before abandoning them to be reclaimed. @default 5000 */
  readonly drainTimeoutMs?: number;
  /**
   * After a read that brought messages, wait this long before reading again, so that the next read (and its
   * acknowledgement) takes in one batch what arrived meanwhile: for a consumer that batches its work anyway (the audit's
   * group commit), at the cost of up to this much delay per message. A hint about round trips only: the in-memory bus,
   * which has none, hands each message over as it comes. @default 0
   */
  readonly readLingerMs?: number;
}

export interface Subscription {
  readonly topic: string;
  readonly group: string;
  readonly consumer: string;
  /** Stops taking messages, waits up to `drainTimeoutMs` for running handlers; unacknowledged ones are reclaimed. */
  close(): Promise<void>;
}

export interface DeadLetter<T = unknown> {
  /** Id of the dead-letter entry (what `redrive` takes). */
  readonly id: string;
  readonly envelope: EventEnvelope<T>;
  /** The last error message. */
  readonly reason: string;
  readonly attempts: number;
  readonly group: string;
  readonly deadLetteredAt: string;
}

export interface DeadLetterQuery {
  /** @default 100 */
  readonly limit?: number;
}

export interface RedriveOptions {
  /** Dead-letter ids to redrive. @default all */
  readonly ids?: readonly string[];
}

/**
 * Topic-based pub/sub with consumer groups, at-least-once delivery, retries, a dead-letter queue `<topic>.dlq` and
 * redrive. Redriven messages go back on the topic, so every group sees them again: consumers must be idempotent.
 */
export interface EventBus {
  publish<T>(topic: string, event: NewEvent<T>): Promise<EventEnvelope<T>>;
  subscribe<T = unknown>(options: SubscribeOptions<T>): Promise<Subscription>;
  deadLetters(topic: string, query?: DeadLetterQuery): Promise<DeadLetter[]>;
  /** Moves dead letters back to the topic; returns how many moved. */
  redrive(topic: string, options?: RedriveOptions): Promise<number>;
  /** Closes every subscription; does not close clients that were passed in. */
  close(): Promise<void>;
}

/** Dead-letters a message at once: for data no retry can fix (unknown schema version, failed validation). */
export class PoisonMessageError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(422, 'poison-message', message, cause === undefined ? {} : { cause });
  }
}

export function isPoison(err: unknown): boolean {
  return err instanceof PoisonMessageError || (err instanceof AppError && err.code === 'poison-message');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const DEFAULTS = {
  maxDeliveries: 5,
  retryDelayMs: 1000,
  reclaimIdleMs: 30_000,
  concurrency: 1,
  drainTimeoutMs: 5000,
} as const;

export type ResolvedSubscribeOptions<T> = Required<SubscribeOptions<T>>;

export function resolveSubscribeOptions<T>(
  options: SubscribeOptions<T>,
  defaultConsumer: string,
): ResolvedSubscribeOptions<T> {
  const resolved = {
    ...options,
    consumer: options.consumer ?? defaultConsumer,
    maxDeliveries: options.maxDeliveries ?? DEFAULTS.maxDeliveries,
    retryDelayMs: options.retryDelayMs ?? DEFAULTS.retryDelayMs,
    reclaimIdleMs: options.reclaimIdleMs ?? DEFAULTS.reclaimIdleMs,
    concurrency: options.concurrency ?? DEFAULTS.concurrency,
    drainTimeoutMs: options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs,
    readLingerMs: options.readLingerMs ?? 0,
  };
  const positive = ['maxDeliveries', 'concurrency'] as const;
  for (const key of positive) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) {
      throw new TypeError(`subscribe(${options.topic}/${options.group}): ${key} must be an integer >= 1`);
    }
  }
  for (const key of ['retryDelayMs', 'reclaimIdleMs', 'drainTimeoutMs', 'readLingerMs'] as const) {
    if (!(resolved[key] >= 0))
      throw new TypeError(`subscribe(${options.topic}/${options.group}): ${key} must be >= 0`);
  }
  return resolved;
}

/** Unique per process and readable in XINFO: in Kubernetes the hostname is the pod name. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export function createEnvelope<T>(topic: string, event: NewEvent<T>, source: string): EventEnvelope<T> {
  return {
    id: event.id ?? randomUUID(),
    topic,
    type: event.type,
    version: event.version ?? 1,
    occurredAt: event.occurredAt ?? new Date().toISOString(),
    source: event.source ?? source,
    data: event.data,
    headers: event.headers ?? {},
  };
}

const tracer = () => trace.getTracer('@meshmart/kit');

function injected(ctx: Context): TraceHeaders {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const headers: { traceparent?: string; tracestate?: string } = {};
  if (carrier.traceparent) headers.traceparent = carrier.traceparent;
  if (carrier.tracestate) headers.tracestate = carrier.tracestate;
  return headers;
}

/** A trace context as event headers: for events built ahead of publishing (the outbox). */
export function currentTraceHeaders(ctx: Context = context.active()): TraceHeaders {
  return injected(ctx);
}

/**
 * Runs `send` inside a PRODUCER span whose context travels in the envelope's headers. Events that already carry
 * headers (outbox entries) keep the trace they were created in.
 */
export async function tracedPublish<T>(
  envelope: EventEnvelope<T>,
  send: (envelope: EventEnvelope<T>) => Promise<void>,
  ctx: Context = context.active(),
): Promise<EventEnvelope<T>> {
  const hasParent = envelope.headers.traceparent !== undefined;
  const parent = hasParent ? propagation.extract(ROOT_CONTEXT, { ...envelope.headers }) : ctx;
  const span = tracer().startSpan(
    `${envelope.topic} publish`,
    { kind: SpanKind.PRODUCER, attributes: messagingAttributes(envelope) },
    parent,
  );
  try {
    // Without a registered propagator nothing is injected: keep what the event already carried.
    const out = { ...envelope, headers: { ...envelope.headers, ...injected(trace.setSpan(parent, span)) } };
    await send(out);
    return out;
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
    throw err;
  } finally {
    span.end();
  }
}

function messagingAttributes(envelope: EventEnvelope<unknown>): Record<string, string> {
  return {
    'messaging.destination.name': envelope.topic,
    'messaging.message.id': envelope.id,
    'messaging.system': 'meshmart',
  };
}

/**
 * Runs a handler in a CONSUMER span, child of the context the publisher injected. The span's context reaches the
 * handler as `delivery.context` (and as the active context when a context manager is registered).
 */
export async function tracedHandle<T>(
  envelope: EventEnvelope<T>,
  delivery: Delivery,
  handler: EventHandler<T>,
): Promise<void> {
  const parent = propagation.extract(ROOT_CONTEXT, { ...envelope.headers });
  const span = tracer().startSpan(
    `${envelope.topic} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...messagingAttributes(envelope),
        'messaging.consumer.group.name': delivery.group,
        'messaging.message.delivery_attempt': delivery.attempt,
      },
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  try {
    await context.with(ctx, () => handler(envelope, { ...delivery, context: ctx }));
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * `{ trace_id, span_id }` of the publisher's span an envelope carries, for the bus's own log lines about a delivery
 * (retry, dead letter), which are written after the consumer span has ended; `{}` without a valid traceparent.
 */
export function envelopeTraceFields(envelope: { readonly headers?: TraceHeaders }): {
  trace_id?: string;
  span_id?: string;
} {
  const m = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/.exec(envelope.headers?.traceparent ?? '');
  return m && !/^0+$/.test(m[1]) && !/^0+$/.test(m[2]) ? { trace_id: m[1], span_id: m[2] } : {};
}

/** Resolves when every running handler settled or after `timeoutMs`, whichever is first. */
export function drain(running: ReadonlySet<Promise<void>>, timeoutMs: number): Promise<void> {
  if (running.size === 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  return Promise.race([Promise.allSettled([...running]).then(() => undefined), timeout]).finally(() =>
    clearTimeout(timer),
  );
}

export type Outcome = 'ok' | 'retry' | 'dead_letter';

/** Bus metrics on an injected registry; a second bus on the same registry shares them. */
export class EventMetrics {
  readonly published: Counter<'topic'> | undefined;
  readonly consumed: Counter<'topic' | 'group' | 'outcome'> | undefined;
  readonly deadLettered: Counter<'topic' | 'group'> | undefined;
  readonly redriven: Counter<'topic'> | undefined;
  readonly handlerDuration: Histogram<'topic' | 'group'> | undefined;

  constructor(registry?: Registry) {
    if (!registry) return;
    const declared = DeclaredMetrics.of(registry);
    this.published = declared.counter(kitMetrics.eventsPublished);
    this.consumed = declared.counter(kitMetrics.eventsConsumed);
    this.deadLettered = declared.counter(kitMetrics.eventsDeadLettered);
    this.redriven = declared.counter(kitMetrics.eventsRedriven);
    this.handlerDuration = declared.histogram(kitMetrics.eventHandlerDuration);
  }

  /** @param seconds handler run time; omitted when no handler ran (a malformed or abandoned message) */
  outcome(topic: string, group: string, outcome: Outcome, seconds?: number): void {
    this.consumed?.inc({ topic, group, outcome });
    if (seconds !== undefined) this.handlerDuration?.observe({ topic, group }, seconds);
    if (outcome === 'dead_letter') this.deadLettered?.inc({ topic, group });
  }
}
