import type { Logger } from '@meshmart/kit';
import { TOPICS } from '@meshmart/catalogue';
import type { EventBus, Subscription } from '@meshmart/kit/events';
import { events } from '@meshmart/contracts';
import type { AuditTrail } from '../domain/audit-trail.ts';

export const GROUP = 'audit';

export interface AuditConsumerProps {
  readonly bus: EventBus;
  readonly trail: AuditTrail;
  readonly topics?: readonly string[];
  /** @default the bus's default (host, pid, random) */
  readonly consumer?: string;
  /** Counts what was received (a prom-client counter). */
  readonly recorded?: { inc(labels: { topic: string; outcome: string }): void };
  readonly logger?: Logger;
  /** @default the bus's default */
  readonly retryDelayMs?: number;
  /**
   * Events of one topic handled at once: they wait for the trail's insert together, so one at a time would let a
   * lingering trail record one event per topic per insert. @default 100
   */
  readonly concurrency?: number;
  /** After a read of a topic, wait this long before the next (the bus's readLingerMs: fewer, larger reads). @default 0 */
  readonly readLingerMs?: number;
}

/**
 * One subscription per topic in the 'audit' group. Unknown versions and invalid data are dead-lettered with the
 * reason (events.validated); each event is recorded once however often it is delivered: the trail refuses a second
 * record with the same event id (a unique index), so no processed-event store is needed.
 */
export async function startAuditConsumers(props: AuditConsumerProps): Promise<Subscription[]> {
  const handler = events.validated(async (event) => {
    const outcome = await props.trail.append(event);
    props.recorded?.inc({ topic: event.topic, outcome });
  });
  const subscriptions: Subscription[] = [];
  try {
    for (const topic of props.topics ?? TOPICS) {
      subscriptions.push(
        await props.bus.subscribe({
          topic,
          group: GROUP,
          handler,
          concurrency: props.concurrency ?? 100,
          ...(props.consumer ? { consumer: props.consumer } : {}),
          ...(props.retryDelayMs !== undefined ? { retryDelayMs: props.retryDelayMs } : {}),
          ...(props.readLingerMs !== undefined ? { readLingerMs: props.readLingerMs } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.all(subscriptions.map((s) => s.close()));
    throw err;
  }
  props.logger?.info({ topics: subscriptions.map((s) => s.topic), group: GROUP }, 'audit consumers started');
  return subscriptions;
}
