import type { Context } from '@opentelemetry/api';
import {
  events,
  SignInFailed,
  UserAction,
  type SignInFailedData,
  type UserActionData,
} from '@meshmart/contracts';
import { DeclaredMetrics, type Logger } from '@meshmart/kit';
import { declarePublishes, type EventBus } from '@meshmart/kit/events';
import type { Counter, Registry } from 'prom-client';
import { gatewayMetrics } from '../metrics.ts';

/**
 * Publishes UserAction straight to the bus after the response. The gateway keeps no database, so there is no state
 * change an outbox could commit atomically with the event; a publish that fails is logged and counted, and the
 * services' own events (which do go through outboxes) still record every change the action made.
 */
export class UserActionPublisher {
  private readonly published: Counter<'result'>;

  /** Built in the gateway's build, so a topic outside its catalogue entry fails its start (`declarePublishes`). */
  constructor(private readonly props: { bus: EventBus; logger: Logger; registry: Registry }) {
    declarePublishes(props.bus, [UserAction.topic, SignInFailed.topic]);
    this.published = DeclaredMetrics.of(props.registry).counter(gatewayMetrics.userActions);
  }

  publish(data: UserActionData, context?: Context): Promise<void> {
    return this.send(UserAction, data, context);
  }

  /** A failed sign-in: the name tried, the client address and why (rate-limited by the sign-in route). */
  signInFailed(data: SignInFailedData, context?: Context): Promise<void> {
    return this.send(SignInFailed, data, context);
  }

  private async send(
    schema: typeof UserAction | typeof SignInFailed,
    data: UserActionData | SignInFailedData,
    context?: Context,
  ): Promise<void> {
    try {
      const event = events.assertValid(schema.topic, {
        type: schema.type,
        version: schema.version,
        data,
        occurredAt: data.at,
        ...(context ? { context } : {}),
      });
      await this.props.bus.publish(schema.topic, event);
      this.published.inc({ result: 'published' });
    } catch (err) {
      this.published.inc({ result: 'failed' });
      this.props.logger.warn({ err, type: schema.type, actor: data.actor }, 'user action not published');
    }
  }
}
