import type { Logger, Metrics } from '@meshmart/kit';
import { OutboxRelay, outboxEntry, type EventBus, type OutboxEntry } from '@meshmart/kit/events';
import { events } from '@meshmart/contracts';
import type { Participants } from './adapters/participants.ts';
import { SAGAS_COLLECTION, type SagaRepository } from './adapters/saga-repository.ts';
import { checkoutSaga, type CheckoutContext, type CheckoutSagaOptions } from './domain/checkout-saga.ts';
import { CheckoutService } from './domain/checkout-service.ts';
import type { Saga } from './domain/saga.ts';
import { SagaEngine } from './domain/saga-engine.ts';
import { checkoutMetrics } from './metrics.ts';

const TOPIC = 'checkout.events';
const SERVICE = 'checkout';

export interface CheckoutCoreProps {
  readonly repository: SagaRepository<CheckoutContext>;
  readonly participants: Participants;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Without a bus no relay runs and events stay in the outbox (tests read them there). */
  readonly bus?: EventBus;
  readonly saga?: CheckoutSagaOptions;
  readonly owner?: string;
  readonly leaseMs?: number;
  readonly recoveryIntervalMs?: number;
  /** SagaEngineProps.progressWriteMs. */
  readonly progressWriteMs?: number;
  readonly relayIntervalMs?: number;
  /** Checkouts in progress past which new ones get 429 'checkout-busy' (CheckoutService's maxInFlight). */
  readonly maxInFlight?: number;
}

export interface CheckoutCore {
  readonly engine: SagaEngine<CheckoutContext>;
  readonly checkout: CheckoutService;
  readonly repository: SagaRepository<CheckoutContext>;
  readonly relay: OutboxRelay | undefined;
  /** Starts the relay and recovery (which resumes interrupted sagas at once). */
  start(): void;
  /** Stops the engine (runs hand back their leases) and then the relay. */
  close(): Promise<void>;
}

function event(type: string, data: unknown, saga: Saga<CheckoutContext>): OutboxEntry {
  const checked = events.assertValid(TOPIC, { type, data, headers: saga.trace });
  return outboxEntry(TOPIC, checked, SERVICE);
}

/** The saga engine, the checkout service, the outbox relay and the metrics, wired together. */
export function createCheckoutCore(props: CheckoutCoreProps): CheckoutCore {
  const { repository, logger, metrics } = props;
  const definition = checkoutSaga(props.saga);
  const sagas = metrics.counter(checkoutMetrics.sagas);
  const duration = metrics.histogram(checkoutMetrics.sagaDuration);
  const attempts = metrics.counter(checkoutMetrics.stepAttempts);
  const relay = props.bus
    ? new OutboxRelay({
        store: repository.outbox,
        bus: props.bus,
        topics: [TOPIC],
        logger,
        ...(props.relayIntervalMs !== undefined ? { intervalMs: props.relayIntervalMs } : {}),
      })
    : undefined;
  // Events written with a saga go to the relay at once; it reads the collection only for what nobody handed it.
  const wrote = (saga: Saga<CheckoutContext>, events: readonly OutboxEntry[]): void =>
    relay?.offer({ collection: SAGAS_COLLECTION, id: saga.id }, events);
  const engine = new SagaEngine<CheckoutContext>({
    definition,
    repository,
    participants: props.participants,
    logger,
    ...(props.owner !== undefined ? { owner: props.owner } : {}),
    ...(props.leaseMs !== undefined ? { leaseMs: props.leaseMs } : {}),
    ...(props.recoveryIntervalMs !== undefined ? { recoveryIntervalMs: props.recoveryIntervalMs } : {}),
    ...(props.progressWriteMs !== undefined ? { progressWriteMs: props.progressWriteMs } : {}),
    hooks: {
      finishedEvents: (saga) => {
        const base = { sagaId: saga.id, orderId: saga.orderId, userId: saga.userId };
        return saga.status === 'COMPLETED'
          ? [event('CheckoutCompleted', base, saga)]
          : [
              event(
                'CheckoutFailed',
                {
                  ...base,
                  reason: saga.reason ?? 'checkout failed',
                  compensated: saga.status === 'COMPENSATED',
                },
                saga,
              ),
            ];
      },
      finished: (saga) => {
        const outcome = saga.status.toLowerCase();
        sagas.inc({ outcome });
        const ms = Date.parse(saga.finishedAt ?? saga.updatedAt) - Date.parse(saga.createdAt);
        duration.observe({ outcome }, Math.max(0, ms) / 1000);
      },
      attempted: (step, outcome) => attempts.inc({ step, outcome }),
      wrote,
    },
  });
  const checkout = new CheckoutService({
    definition,
    repository,
    participants: props.participants,
    engine,
    ...(props.maxInFlight === undefined ? {} : { maxInFlight: props.maxInFlight }),
    startedEvents: (saga) => [
      event(
        'CheckoutStarted',
        {
          sagaId: saga.id,
          orderId: saga.orderId,
          userId: saga.userId,
          totalCents: saga.context.totalCents,
        },
        saga,
      ),
    ],
    wrote,
  });
  return {
    engine,
    checkout,
    repository,
    relay,
    start() {
      relay?.start();
      engine.startRecovery();
    },
    async close() {
      await engine.close();
      await relay?.stop();
    },
  };
}
