import type { Context } from '@opentelemetry/api';
import { AppError, BoundedMap, type Metrics } from '@meshmart/kit';
import type { OutboxWritten } from '@meshmart/kit/events';
import type { Counter } from 'prom-client';
import {
  decide,
  fold,
  type OrderCommand,
  type OrderEvent,
  type OrderView,
  type StoredOrderEvent,
} from '../domain/order-aggregate.ts';
import type { OrderEventStore } from '../adapters/order-event-store.ts';
import type { OrderListQuery, OrderPage, OrderViewRepository } from '../adapters/order-view-repository.ts';
import type { ViewChanges } from './view-changes.ts';
import { ordersMetrics } from '../metrics.ts';

export interface OrderServiceProps {
  readonly store: OrderEventStore;
  readonly views: OrderViewRepository;
  readonly metrics?: Metrics;
  /** Called after events were appended (nudges the outbox relay). */
  readonly onAppended?: () => void;
  /** Told of each event document stored (the outbox relay publishes it without reading it back). */
  readonly outboxWritten?: OutboxWritten;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** Where waiting readers learn of new states; commands report theirs here too. @default none (no waiting) */
  readonly changes?: ViewChanges;
  /** How often a waiting reader re-reads the model, for states written by other replicas. @default 1000 */
  readonly waitPollMs?: number;
}

export interface GetOptions {
  /** Wait up to this long for the order to leave PENDING (`Prefer: wait`). @default 0 */
  readonly waitMs?: number;
  /** The reader went away. */
  readonly signal?: AbortSignal;
}

export interface CommandOptions {
  /** The version the caller last saw; a different current version is a 409 'version-conflict'. */
  readonly expectedVersion?: number;
  readonly context?: Context;
}

export interface CommandResult {
  /** The state folded from the store after the command (read-your-writes). */
  readonly order: OrderView;
  /** False when the command repeated what was already done. */
  readonly changed: boolean;
}

function found(orderId: string, order: OrderView | undefined): OrderView {
  if (!order) throw AppError.notFound(`order ${orderId} not found`);
  return order;
}

/** Appends lost to a concurrent writer are decided again on the new state this many times. */
const MAX_ATTEMPTS = 3;

/** The command and query side of orders: commands fold the stream, decide and append; queries read the model. */
export class OrderService {
  private readonly clock: () => Date;
  private readonly commands: Counter<'command' | 'outcome'> | undefined;
  /**
   * Each order's history as this process last appended it: the next command decides on it without loading the stream.
   * A stale one (another replica appended since) cannot do harm: the append is refused by the unique version and the
   * command is decided again on the stream read from the store.
   */
  private readonly histories = new BoundedMap<string, StoredOrderEvent[]>(10_000);

  constructor(private readonly props: OrderServiceProps) {
    this.clock = props.clock ?? (() => new Date());
    this.commands = props.metrics?.counter(ordersMetrics.commands);
  }

  async execute(
    orderId: string,
    command: OrderCommand,
    options: CommandOptions = {},
  ): Promise<CommandResult> {
    try {
      const result = await this.attempt(orderId, command, options);
      this.commands?.inc({ command: command.kind, outcome: result.changed ? 'applied' : 'repeated' });
      return result;
    } catch (err) {
      const outcome = err instanceof AppError ? err.code : 'error';
      this.commands?.inc({ command: command.kind, outcome });
      throw err;
    }
  }

  private async attempt(
    orderId: string,
    command: OrderCommand,
    options: CommandOptions,
  ): Promise<CommandResult> {
    for (let attempt = 1; ; attempt++) {
      // A place is tried on an empty history first: a new order needs no read (a repeat is refused by the unique
      // version and decided on the stream).
      const cached =
        attempt === 1
          ? (this.histories.get(orderId) ?? (command.kind === 'place' ? [] : undefined))
          : undefined;
      const history = cached ?? (await this.props.store.load(orderId));
      const state = fold(history);
      const version = state?.version ?? 0;
      let events: OrderEvent[];
      try {
        events = decide(command, state, this.clock().toISOString());
      } catch (err) {
        if (cached) continue; // refused on a remembered state: only the stream may refuse it
        throw err;
      }
      // A repeat is answered whatever version the caller saw: retries after a lost response must succeed.
      if (events.length === 0 && state) {
        if (cached) continue; // only the stream itself may say the command was already applied
        return { order: state, changed: false };
      }
      if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
        if (cached) continue; // decide that on the stream, not on what this process remembers
        throw new AppError(
          409,
          'version-conflict',
          `order ${orderId} is at version ${version}, not ${options.expectedVersion}`,
          { extensions: { orderId, expectedVersion: options.expectedVersion, currentVersion: version } },
        );
      }
      try {
        const appended = await this.props.store.append(orderId, version, events, {
          afterLoad: true,
          ...(this.props.outboxWritten ? { written: this.props.outboxWritten } : {}),
          ...(options.context ? { context: options.context } : {}),
        });
        this.props.onAppended?.();
        const after = [...history, ...appended];
        const order = fold(after);
        if (!order) throw new Error(`order ${orderId}: nothing to fold after an append`);
        this.histories.set(orderId, after);
        this.props.changes?.changed(order);
        return { order, changed: true };
      } catch (err) {
        this.histories.delete(orderId);
        const conflict = err instanceof AppError && err.code === 'version-conflict';
        // Decided on a remembered history that was stale: decide again on the stream, whatever the caller expected.
        if (conflict && cached) continue;
        const retry = conflict && options.expectedVersion === undefined && attempt < MAX_ATTEMPTS;
        if (!retry) throw err;
      }
    }
  }

  /**
   * The read model's view; when it is missing (the projector has not caught up), the state folded from events. With
   * `waitMs`, a PENDING order is watched until it is settled (the state a command or the projector just produced in
   * this process, or a re-read every waitPollMs for other replicas' writes) or the time is up.
   */
  async get(orderId: string, options: GetOptions = {}): Promise<OrderView> {
    let order = await this.read(orderId);
    const { changes } = this.props;
    if (!options.waitMs || !changes || (order && order.status !== 'PENDING')) return found(orderId, order);
    // An order not placed yet (its checkout was just accepted) is waited for too.
    const deadline = performance.now() + options.waitMs;
    const pollMs = this.props.waitPollMs ?? 1000;
    for (;;) {
      const left = deadline - performance.now();
      // A last full read at the end: the poll below reads only the model (the stream is a query, not a lookup).
      if (left <= 0 || options.signal?.aborted) return found(orderId, order ?? (await this.read(orderId)));
      const seen = await changes.next(orderId, Math.min(left, pollMs), options.signal);
      const latest = seen ?? (await this.props.views.get(orderId));
      if (latest && latest.version >= (order?.version ?? 0)) order = latest;
      if (order && order.status !== 'PENDING') return order;
    }
  }

  /** The read model's view, else the stream folded (the projector has not caught up); none: undefined. */
  private async read(orderId: string): Promise<OrderView | undefined> {
    return (await this.props.views.get(orderId)) ?? fold(await this.props.store.load(orderId));
  }

  /** The state at an instant, folded from the events that occurred until then. */
  async asOf(orderId: string, at: Date): Promise<OrderView> {
    const order = fold(await this.props.store.load(orderId, { asOf: at }));
    if (!order) throw AppError.notFound(`order ${orderId} did not exist at ${at.toISOString()}`);
    return order;
  }

  async events(orderId: string): Promise<StoredOrderEvent[]> {
    const events = await this.props.store.load(orderId);
    if (events.length === 0) throw AppError.notFound(`order ${orderId} not found`);
    return events;
  }

  list(query: OrderListQuery): Promise<OrderPage> {
    return this.props.views.list(query);
  }
}
