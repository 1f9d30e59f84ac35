import { BoundedMap, type Logger, type Metrics } from '@meshmart/kit';
import type { EventBus, EventEnvelope, Subscription } from '@meshmart/kit/events';
import { envelopeTraceFields } from '@meshmart/kit/events';
import { events as contracts } from '@meshmart/contracts';
import type { Counter } from 'prom-client';
import { evolve, fold, type OrderEvent, type OrderView } from '../domain/order-aggregate.ts';
import { ORDERS_TOPIC, type OrderEventStore } from '../adapters/order-event-store.ts';
import type { OrderViewRepository } from '../adapters/order-view-repository.ts';
import type { ViewChanges } from './view-changes.ts';
import { ordersMetrics } from '../metrics.ts';

export const PROJECTOR_GROUP = 'orders-projector';

export type ProjectionOutcome = 'applied' | 'skipped' | 'refolded';

export interface OrderProjectorProps {
  readonly store: OrderEventStore;
  readonly views: OrderViewRepository;
  /** Told of every view written, for readers waiting on an order. */
  readonly changes?: ViewChanges;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/**
 * Keeps the read model in step with the event store. An event that is the next version of its view is applied; an
 * older or repeated one is skipped; one ahead of the view (a gap) makes the projector refold the whole order from
 * the store. The refold, rather than failing and waiting for the missing event, is there because every event is its
 * own outbox document, so the relay does not promise order across an order's events: gaps happen in normal running,
 * the store already holds everything up to the event in hand, and a refold converges at once instead of spending
 * retries (and dead-lettering after maxDeliveries). The view's version makes a redelivery a no-op ('skipped'), so no
 * processed-event store is kept.
 */
export class OrderProjector {
  private readonly projected: Counter<'outcome'> | undefined;
  /**
   * The view this projector last wrote, per order: the next event is applied to it without reading the model back.
   * A stale entry (another replica wrote since) is harmless: the write is conditional on the version moving forward,
   * and a version gap refolds from the store.
   */
  private readonly written = new BoundedMap<string, OrderView>(10_000);

  constructor(private readonly props: OrderProjectorProps) {
    this.projected = props.metrics?.counter(ordersMetrics.projectedEvents);
  }

  subscribe(bus: EventBus, options: { retryDelayMs?: number } = {}): Promise<Subscription> {
    return bus.subscribe({
      topic: ORDERS_TOPIC,
      group: PROJECTOR_GROUP,
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
      handler: contracts.validated((envelope: EventEnvelope) => this.handle(envelope).then(() => undefined)),
    });
  }

  /** Projects one (validated) event. */
  async handle(envelope: EventEnvelope): Promise<ProjectionOutcome> {
    const event = { type: envelope.type, occurredAt: envelope.occurredAt, data: envelope.data } as OrderEvent;
    const { orderId, orderVersion } = event.data;
    // An order's first event starts its view: nothing to read (a redelivery finds the view there when it inserts).
    const view =
      this.written.get(orderId) ?? (orderVersion === 1 ? undefined : await this.props.views.get(orderId));
    const current = view?.version ?? 0;
    let outcome: ProjectionOutcome;
    if (orderVersion <= current) outcome = 'skipped';
    else if (orderVersion === current + 1) {
      const next = evolve(view, event);
      const written = await this.props.views.put(next, { absent: !view });
      outcome = written === 'written' ? 'applied' : 'skipped';
      this.remember(next, written === 'written');
    } else {
      const order = fold(await this.props.store.load(orderId));
      if (!order || order.version < orderVersion) {
        // The store always holds an event before it is published; anything else is worth a retry and a log line.
        throw new Error(`order ${orderId}: event version ${orderVersion} is not in the store yet`);
      }
      outcome = (await this.props.views.put(order)) === 'written' ? 'refolded' : 'skipped';
      this.remember(order, outcome === 'refolded');
    }
    this.projected?.inc({ outcome });
    this.props.logger?.debug(
      { ...envelopeTraceFields(envelope), orderId, orderVersion, outcome },
      'order event projected',
    );
    return outcome;
  }

  private remember(view: OrderView, written: boolean): void {
    if (!written) {
      this.written.delete(view.id); // someone else's newer view is there: read it next time
      return;
    }
    this.written.set(view.id, view);
    this.props.changes?.changed(view);
  }

  /** Clears the read model and refolds every order from the event store. */
  async rebuild(): Promise<{ orders: number; events: number }> {
    this.written.clear();
    await this.props.views.clear();
    let orders = 0;
    let events = 0;
    let state: OrderView | undefined;
    const flush = async () => {
      if (!state) return;
      await this.props.views.put(state);
      orders++;
    };
    for await (const event of this.props.store.all()) {
      events++;
      if (state && state.id !== event.data.orderId) {
        await flush();
        state = undefined;
      }
      state = evolve(state, event);
    }
    await flush();
    this.props.logger?.info({ orders, events }, 'order read model rebuilt');
    return { orders, events };
  }
}
