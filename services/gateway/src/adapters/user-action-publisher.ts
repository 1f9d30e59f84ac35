import type { Context } from '@opentelemetry/api';
import { events, UserAction, type UserActionData } from '@meshmart/contracts';
import type { Logger } from '@meshmart/kit';
import type { EventBus } from '@meshmart/kit/events';
import { Counter, type Registry } from 'prom-client';

/**
 * Publishes UserAction straight to the bus after the response. The gateway keeps no database, so there is no state
 * change an outbox could commit atomically with the event; a publish that fails is logged and counted, and the
 * services' own events (which do go through outboxes) still record every change the action made.
 */
export class UserActionPublisher {
  private readonly published: Counter<'result'>;

  constructor(private readonly props: { bus: EventBus; logger: Logger; registry: Registry }) {
    this.published =
      (props.registry.getSingleMetric('gateway_user_actions_total') as Counter<'result'> | undefined) ??
      new Counter({
        name: 'gateway_user_actions_total',
        help: 'UserAction events by publish result',
        labelNames: ['result'],
        registers: [props.registry],
      });
  }

  async publish(data: UserActionData, context?: Context): Promise<void> {
    try {
      const event = events.assertValid(UserAction.topic, {
        type: UserAction.type,
        version: UserAction.version,
        data,
        occurredAt: data.at,
        ...(context ? { context } : {}),
      });
      await this.props.bus.publish(UserAction.topic, event);
      this.published.inc({ result: 'published' });
    } catch (err) {
      this.published.inc({ result: 'failed' });
      this.props.logger.warn({ err, action: data.action, actor: data.actor }, 'user action not published');
    }
  }
}
