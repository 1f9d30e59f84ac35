import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { defineService, int, openStores, storeSettings, upstreamUrl } from '@meshmart/kit';
import { dependenciesOf, service as catalogueEntry } from '@meshmart/catalogue';
import { upstreamPolicyFromEnv } from '@meshmart/kit/http';
import { HttpParticipants } from './adapters/http-participants.ts';
import { InMemorySagaRepository } from './adapters/in-memory-saga-repository.ts';
import { MongoSagaRepository } from './adapters/mongo-saga-repository.ts';
import type { Participants } from './adapters/participants.ts';
import type { SagaRepository } from './adapters/saga-repository.ts';
// Imported with the definition, as every service's adapters and domain are: a test's participants (whose errors the
// engine tells apart with instanceof) then share these modules with the service it builds.
import { createCheckoutCore } from './checkout.ts';
import type { CheckoutContext } from './domain/checkout-saga.ts';

/** What a test or an embedder may put in place of what the config builds, or hold back of what it starts. */
export interface CheckoutOverrides {
  /** The saga store, instead of MONGO_URL's or an in-memory one: replicas in one process sharing one store. */
  readonly repository?: SagaRepository<CheckoutContext>;
  /** The participants, instead of HTTP to ORDERS_URL, INVENTORY_URL, PAYMENTS_URL and CART_URL. */
  readonly participants?: Participants;
  /** This replica's name on the sagas it leases. @default `<hostname>-<pid>-<random>` */
  readonly owner?: string;
  /** Whether the build starts the saga engine's recovery and the outbox relay (`parts.core.start()`). @default true */
  readonly start?: boolean;
}

export const definition = defineService({
  service: 'checkout',
  defaultPort: catalogueEntry('checkout').port,
  settings: {
    ...storeSettings('checkout'),
    ordersUrl: upstreamUrl('orders'),
    inventoryUrl: upstreamUrl('inventory'),
    paymentsUrl: upstreamUrl('payments'),
    cartUrl: upstreamUrl('cart'),
    upstreamTimeoutMs: int({
      env: 'UPSTREAM_TIMEOUT_MS',
      default: 3000,
      min: 1,
      doc: 'deadline of one participant call',
    }),
    sagaForwardMaxAttempts: int({
      env: 'SAGA_FORWARD_MAX_ATTEMPTS',
      default: 20,
      min: 1,
      max: 1000,
      doc: 'attempts of placing the order, of the confirmation, of the steps after it (commit, capture) and of a compensation before the saga needs an operator',
    }),
    sagaMaxAttempts: int({
      env: 'SAGA_MAX_ATTEMPTS',
      // 8 attempts wait 8-16 s in all: past a restart and the kit's circuit breaker's 5 s open window (5 took 1.5-3 s,
      // all spent failing fast, and a 3-second outage cancelled every checkout in flight: make chaos).
      default: 8,
      min: 1,
      max: 100,
      doc: 'attempts of reserving stock and authorizing the payment on transient failures; then the saga compensates',
    }),
    sagaBackoffMs: int({
      env: 'SAGA_BACKOFF_MS',
      default: 200,
      min: 0,
      doc: 'first retry delay of a saga step; doubles per attempt, with jitter',
    }),
    sagaMaxBackoffMs: int({
      env: 'SAGA_MAX_BACKOFF_MS',
      default: 5000,
      min: 0,
      doc: 'cap on the retry delay of a saga step',
    }),
    sagaLeaseMs: int({
      env: 'SAGA_LEASE_MS',
      default: 30000,
      min: 100,
      doc: 'how long a replica owns a saga after each write; keep above SAGA_MAX_BACKOFF_MS + UPSTREAM_TIMEOUT_MS',
    }),
    sagaMaxInFlight: int({
      env: 'SAGA_MAX_IN_FLIGHT',
      default: 64,
      min: 0,
      doc: 'checkouts in progress on one replica past which new ones are refused with 429 checkout-busy and Retry-After (0: no limit)',
    }),
    sagaProgressWriteMs: int({
      env: 'SAGA_PROGRESS_WRITE_MS',
      default: 500,
      min: 0,
      doc: 'a saga step still running after this long (or half SAGA_LEASE_MS, if sooner) is recorded as running; quicker steps are recorded with the next write (at the latest before the pivot) and re-run under the same idempotency keys after a crash (0: record every step before its call)',
    }),
    sagaRecoveryIntervalMs: int({
      env: 'SAGA_RECOVERY_INTERVAL_MS',
      default: 5000,
      min: 10,
      doc: 'how often sagas whose lease expired (a crashed replica) are looked for and resumed',
    }),
  },
  build: async (kit, overrides: CheckoutOverrides = {}) => {
    const { config, logger, health, metrics } = kit;
    const stores = await openStores({ ...kit, service: 'checkout' });
    const { createApp } = await import('./app.ts');
    if (config.sagaLeaseMs <= config.sagaMaxBackoffMs + config.upstreamTimeoutMs) {
      logger.warn(
        { sagaLeaseMs: config.sagaLeaseMs },
        'SAGA_LEASE_MS is not above SAGA_MAX_BACKOFF_MS + UPSTREAM_TIMEOUT_MS: a slow step may lose its lease',
      );
    }
    const owner = overrides.owner ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const repository =
      overrides.repository ??
      (stores.db
        ? new MongoSagaRepository<CheckoutContext>(stores.db, { owner })
        : new InMemorySagaRepository<CheckoutContext>());
    await repository.ensureIndexes();
    const participants =
      overrides.participants ??
      new HttpParticipants({
        ordersUrl: config.ordersUrl,
        inventoryUrl: config.inventoryUrl,
        paymentsUrl: config.paymentsUrl,
        cartUrl: config.cartUrl,
        timeoutMs: config.upstreamTimeoutMs,
        policies: Object.fromEntries(dependenciesOf('checkout').map((u) => [u, upstreamPolicyFromEnv(u)])),
        registry: metrics.registry,
        logger,
      });
    const retry = {
      maxAttempts: config.sagaMaxAttempts,
      backoffMs: config.sagaBackoffMs,
      maxBackoffMs: config.sagaMaxBackoffMs,
    };
    const core = createCheckoutCore({
      repository,
      participants,
      logger,
      metrics,
      bus: stores.bus,
      // The pivot and the compensations take the forward budget as well (checkoutSaga).
      saga: { retry, forwardRetry: { ...retry, maxAttempts: config.sagaForwardMaxAttempts } },
      owner,
      leaseMs: config.sagaLeaseMs,
      recoveryIntervalMs: config.sagaRecoveryIntervalMs,
      progressWriteMs: config.sagaProgressWriteMs,
      ...(config.sagaMaxInFlight > 0 ? { maxInFlight: config.sagaMaxInFlight } : {}),
    });
    // Recovery's first pass resumes sagas a previous process left behind.
    if (overrides.start !== false) core.start();
    const app = createApp({
      logger,
      metrics,
      health,
      checkout: core.checkout,
      repository,
      bodyLimitBytes: config.bodyLimitBytes,
      slowRequestMs: config.slowRequestMs,
    });
    return {
      app,
      parts: { core, repository, participants },
      closers: [
        { name: 'saga-engine', close: () => core.close() },
        {
          name: 'participants',
          close: async () => {
            if (participants instanceof HttpParticipants) await participants.close();
          },
        },
        ...stores.closers,
      ],
    };
  },
});
