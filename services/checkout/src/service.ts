import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { defineService, int, openStores, storeSettings, upstreamUrl } from '@meshmart/kit';
import { dependenciesOf, service as catalogueEntry } from '@meshmart/catalogue';
import { upstreamPolicyFromEnv } from '@meshmart/kit/http';

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
    sagaRecoveryIntervalMs: int({
      env: 'SAGA_RECOVERY_INTERVAL_MS',
      default: 5000,
      min: 10,
      doc: 'how often sagas whose lease expired (a crashed replica) are looked for and resumed',
    }),
  },
  build: async (kit) => {
    const { config, logger, health, metrics } = kit;
    const stores = await openStores({ ...kit, service: 'checkout' });
    const { MongoSagaRepository } = await import('./adapters/mongo-saga-repository.ts');
    const { InMemorySagaRepository } = await import('./adapters/in-memory-saga-repository.ts');
    const { HttpParticipants } = await import('./adapters/http-participants.ts');
    const { createCheckoutCore } = await import('./checkout.ts');
    const { createApp } = await import('./app.ts');
    type Context = import('./domain/checkout-saga.ts').CheckoutContext;
    if (config.sagaLeaseMs <= config.sagaMaxBackoffMs + config.upstreamTimeoutMs) {
      logger.warn(
        { sagaLeaseMs: config.sagaLeaseMs },
        'SAGA_LEASE_MS is not above SAGA_MAX_BACKOFF_MS + UPSTREAM_TIMEOUT_MS: a slow step may lose its lease',
      );
    }
    const owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const repository = stores.db
      ? new MongoSagaRepository<Context>(stores.db, { owner })
      : new InMemorySagaRepository<Context>();
    await repository.ensureIndexes();
    const participants = new HttpParticipants({
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
      ...(config.sagaMaxInFlight > 0 ? { maxInFlight: config.sagaMaxInFlight } : {}),
    });
    // Recovery's first pass resumes sagas a previous process left behind.
    core.start();
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
      closers: [
        { name: 'saga-engine', close: () => core.close() },
        { name: 'participants', close: () => participants.close() },
        ...stores.closers,
      ],
    };
  },
});
