import type { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import {
  createEnvelope,
  defaultConsumerName,
  drain,
  errorMessage,
  EventMetrics,
  isPoison,
  resolveSubscribeOptions,
  envelopeTraceFields,
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

export interface InMemoryEventBusProps {
  /** Publishing service, stamped on envelopes. */
  readonly source: string;
  readonly registry?: Registry;
  readonly logger?: Logger;
  /** Messages kept per topic for groups that subscribe later (the in-process `MAXLEN ~`, up to 10% over). @default 10000 */
  readonly maxLen?: number;
}

interface Stored {
  readonly seq: number;
  readonly envelope: EventEnvelope;
}

interface Pending {
  readonly stored: Stored;
  owner: Consumer | undefined;
  /** Identity of the current delivery: a result from an abandoned delivery no longer matches. */
  delivery: object | undefined;
  deliveries: number;
  availableAt: number;
}

interface Consumer {
  readonly options: ResolvedSubscribeOptions<unknown>;
  readonly running: Set<Promise<void>>;
  closed: boolean;
}

interface Group {
  readonly name: string;
  cursor: number;
  readonly pending: Map<number, Pending>;
  readonly consumers: Consumer[];
  next: number;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
}

interface TopicState {
  readonly name: string;
  readonly log: Stored[];
  nextSeq: number;
  readonly groups: Map<string, Group>;
  readonly dlq: DeadLetter[];
  nextDeadLetter: number;
}

/**
 * The embedded event bus: same semantics as the Redis one (groups start at the oldest retained message, retries,
 * dead letters, redrive) inside one process. Handlers never run inside `publish`; timers never hold the process.
 * A consumer can only die by `close()`, which hands its unfinished messages to the rest of the group at once.
 */
export class InMemoryEventBus implements EventBus {
  private readonly topics = new Map<string, TopicState>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly metrics: EventMetrics;
  private readonly maxLen: number;
  private closed = false;

  constructor(private readonly props: InMemoryEventBusProps) {
    this.metrics = new EventMetrics(props.registry);
    this.maxLen = props.maxLen ?? 10_000;
  }

  async publish<T>(topic: string, event: NewEvent<T>): Promise<EventEnvelope<T>> {
    this.assertOpen();
    const sent = await tracedPublish(
      createEnvelope(topic, event, this.props.source),
      (envelope) => {
        this.append(this.topic(topic), envelope);
        return Promise.resolve();
      },
      event.context,
    );
    this.metrics.published?.inc({ topic });
    return sent;
  }

  subscribe<T = unknown>(options: SubscribeOptions<T>): Promise<Subscription> {
    // The executor turns a thrown validation error into a rejection.
    return new Promise((resolve) => resolve(this.attach(options)));
  }

  private attach<T>(options: SubscribeOptions<T>): Subscription {
    this.assertOpen();
    const resolved = resolveSubscribeOptions(
      options,
      defaultConsumerName(),
    ) as ResolvedSubscribeOptions<unknown>;
    const state = this.topic(options.topic);
    let group = state.groups.get(options.group);
    if (!group) {
      group = {
        name: options.group,
        cursor: state.log[0]?.seq ?? state.nextSeq,
        pending: new Map(),
        consumers: [],
        next: 0,
        timer: undefined,
        timerAt: Infinity,
      };
      state.groups.set(options.group, group);
    }
    const consumer: Consumer = { options: resolved, running: new Set(), closed: false };
    group.consumers.push(consumer);
    const g = group;
    const subscription: Subscription = {
      topic: options.topic,
      group: options.group,
      consumer: resolved.consumer,
      close: async () => {
        if (consumer.closed) return;
        consumer.closed = true;
        this.subscriptions.delete(subscription);
        g.consumers.splice(g.consumers.indexOf(consumer), 1);
        await drain(consumer.running, resolved.drainTimeoutMs);
        for (const entry of g.pending.values()) {
          if (entry.owner !== consumer) continue;
          entry.owner = undefined;
          entry.delivery = undefined;
          entry.availableAt = 0;
        }
        this.pump(state, g);
      },
    };
    this.subscriptions.add(subscription);
    this.pump(state, group);
    return subscription;
  }

  deadLetters(topic: string, query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    const dlq = this.topics.get(topic)?.dlq ?? [];
    return Promise.resolve(dlq.slice(0, query.limit ?? 100));
  }

  redrive(topic: string, options: RedriveOptions = {}): Promise<number> {
    const state = this.topics.get(topic);
    if (!state) return Promise.resolve(0);
    const wanted = options.ids ? new Set(options.ids) : undefined;
    const moving = state.dlq.filter((d) => !wanted || wanted.has(d.id));
    for (const letter of moving) {
      state.dlq.splice(state.dlq.indexOf(letter), 1);
      this.append(state, letter.envelope);
    }
    if (moving.length > 0) this.metrics.redriven?.inc({ topic }, moving.length);
    return Promise.resolve(moving.length);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    for (const state of this.topics.values()) {
      for (const group of state.groups.values()) clearTimeout(group.timer);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('InMemoryEventBus is closed');
  }

  private topic(name: string): TopicState {
    let state = this.topics.get(name);
    if (!state) {
      state = { name, log: [], nextSeq: 0, groups: new Map(), dlq: [], nextDeadLetter: 0 };
      this.topics.set(name, state);
    }
    return state;
  }

  private append(state: TopicState, envelope: EventEnvelope): void {
    state.log.push({ seq: state.nextSeq++, envelope });
    // Trimmed in chunks (like MAXLEN ~) so a full log does not shift on every publish; pending entries hold their
    // own reference, so trimming never loses an unacknowledged message.
    if (state.log.length > this.maxLen + Math.ceil(this.maxLen / 10)) {
      state.log.splice(0, state.log.length - this.maxLen);
    }
    for (const group of state.groups.values()) this.pump(state, group);
  }

  /** Hands out every deliverable message to consumers with free capacity, round robin. */
  private pump(state: TopicState, group: Group): void {
    const now = Date.now();
    for (;;) {
      const consumer = this.freeConsumer(group);
      if (!consumer) return;
      const entry = this.nextEntry(state, group, now);
      if (!entry) return;
      this.deliver(state, group, consumer, entry);
    }
  }

  private freeConsumer(group: Group): Consumer | undefined {
    const n = group.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = group.consumers[(group.next + i) % n];
      if (c.running.size < c.options.concurrency) {
        group.next = (group.next + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  private nextEntry(state: TopicState, group: Group, now: number): Pending | undefined {
    let wakeAt = Infinity;
    for (const entry of group.pending.values()) {
      if (entry.owner) continue;
      if (entry.availableAt <= now) return entry;
      wakeAt = Math.min(wakeAt, entry.availableAt);
    }
    const first = state.log[0]?.seq ?? state.nextSeq;
    if (group.cursor < first) group.cursor = first;
    const stored = state.log[group.cursor - first];
    if (stored) {
      group.cursor++;
      const entry: Pending = { stored, owner: undefined, delivery: undefined, deliveries: 0, availableAt: 0 };
      group.pending.set(stored.seq, entry);
      return entry;
    }
    if (wakeAt < Infinity) this.wakeAt(state, group, wakeAt);
    return undefined;
  }

  private wakeAt(state: TopicState, group: Group, at: number): void {
    if (group.timer && group.timerAt <= at) return;
    clearTimeout(group.timer);
    group.timerAt = at;
    group.timer = setTimeout(
      () => {
        group.timer = undefined;
        group.timerAt = Infinity;
        this.pump(state, group);
      },
      Math.max(0, at - Date.now()),
    );
    group.timer.unref();
  }

  private deliver(state: TopicState, group: Group, consumer: Consumer, entry: Pending): void {
    const token = {};
    entry.owner = consumer;
    entry.delivery = token;
    entry.deliveries++;
    const { options } = consumer;
    const delivery = { group: group.name, consumer: options.consumer, attempt: entry.deliveries };
    const started = performance.now();
    const run = Promise.resolve()
      .then(() => tracedHandle(entry.stored.envelope, delivery, options.handler))
      .then(
        () => {
          if (entry.delivery !== token) return;
          group.pending.delete(entry.stored.seq);
          this.metrics.outcome(state.name, group.name, 'ok', seconds(started));
        },
        (err: unknown) => {
          if (entry.delivery !== token) return;
          const elapsed = seconds(started);
          if (isPoison(err) || entry.deliveries >= options.maxDeliveries) {
            group.pending.delete(entry.stored.seq);
            this.deadLetter(state, group.name, entry, errorMessage(err));
            this.metrics.outcome(state.name, group.name, 'dead_letter', elapsed);
            return;
          }
          entry.owner = undefined;
          entry.delivery = undefined;
          entry.availableAt = Date.now() + options.retryDelayMs;
          this.metrics.outcome(state.name, group.name, 'retry', elapsed);
          this.props.logger?.warn(
            {
              topic: state.name,
              group: group.name,
              eventId: entry.stored.envelope.id,
              attempt: entry.deliveries,
              err,
              ...envelopeTraceFields(entry.stored.envelope),
            },
            'event handler failed; will retry',
          );
        },
      )
      .finally(() => {
        consumer.running.delete(run);
        this.pump(state, group);
      });
    consumer.running.add(run);
  }

  private deadLetter(state: TopicState, group: string, entry: Pending, reason: string): void {
    state.dlq.push({
      id: String(state.nextDeadLetter++),
      envelope: entry.stored.envelope,
      reason,
      attempts: entry.deliveries,
      group,
      deadLetteredAt: new Date().toISOString(),
    });
    if (state.dlq.length > this.maxLen) {
      const dropped = state.dlq.shift();
      this.props.logger?.error(
        { topic: state.name, eventId: dropped?.envelope.id },
        'dead-letter queue full; dropped',
      );
    }
    this.props.logger?.error(
      {
        topic: state.name,
        group,
        eventId: entry.stored.envelope.id,
        attempts: entry.deliveries,
        reason,
        ...envelopeTraceFields(entry.stored.envelope),
      },
      'event dead-lettered',
    );
  }
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}
