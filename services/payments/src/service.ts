import { defineService, int, num, oneOf, openStores, storeSettings } from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/catalogue';
import { OutboxRelay } from '@meshmart/kit/events';
import { Chaos, ChaosPaymentProvider } from './adapters/chaos-payment-provider.ts';
import type { IdempotencyStore } from './adapters/idempotency-store.ts';
import { InMemoryIdempotencyStore } from './adapters/in-memory-idempotency-store.ts';
import { InMemoryPaymentRepository } from './adapters/in-memory-payment-repository.ts';
import { MongoIdempotencyStore } from './adapters/mongo-idempotency-store.ts';
import { MongoPaymentRepository } from './adapters/mongo-payment-repository.ts';
import type { PaymentRepository } from './adapters/payment-repository.ts';
import { SimulatedPaymentProvider } from './adapters/simulated-payment-provider.ts';
import { Idempotency } from './domain/idempotency.ts';
import { PaymentService, TOPIC as PAYMENTS_TOPIC } from './domain/payment-service.ts';

const PURGE_INTERVAL_MS = 3_600_000;

export const definition = defineService({
  service: 'payments',
  defaultPort: catalogueEntry('payments').port,
  settings: {
    ...storeSettings('payments'),
    chaosLatencyMs: int({
      env: 'CHAOS_LATENCY_MS',
      default: 0,
      min: 0,
      max: 30_000,
      doc: 'latency added to every provider call at start (changeable at run time: PUT /chaos/latency)',
    }),
    chaosFailureRate: num({
      env: 'CHAOS_FAILURE_RATE',
      default: 0,
      min: 0,
      max: 1,
      doc: 'fraction of provider calls failing at start (changeable at run time: PUT /chaos/failure-rate)',
    }),
    chaosFailureStatus: oneOf(['500', '502', '503', '504'], {
      env: 'CHAOS_FAILURE_STATUS',
      default: '503',
      doc: 'HTTP status of an injected provider failure',
    }),
    idempotencyRetentionHours: int({
      env: 'IDEMPOTENCY_RETENTION_HOURS',
      default: 24,
      min: 1,
      max: 24 * 365,
      doc: 'how long a completed Idempotency-Key is remembered (purged hourly, in code)',
    }),
    idempotencyWaitMs: int({
      env: 'IDEMPOTENCY_WAIT_MS',
      default: 2000,
      min: 0,
      max: 60_000,
      doc: "how long a repeated request waits for the first one before 409 'request-in-progress'",
    }),
  },
  build: async (kit) => {
    const stores = await openStores({ ...kit, service: 'payments' });
    let repository: PaymentRepository;
    let idempotencyStore: IdempotencyStore;
    if (stores.db) {
      const mongo = new MongoPaymentRepository(stores.db);
      await mongo.ensureIndexes();
      repository = mongo;
      const keys = new MongoIdempotencyStore(stores.db);
      await keys.ensureIndexes();
      idempotencyStore = keys;
    } else {
      repository = new InMemoryPaymentRepository();
      idempotencyStore = new InMemoryIdempotencyStore();
    }
    const chaos = new Chaos({
      latencyMs: kit.config.chaosLatencyMs,
      failureRate: kit.config.chaosFailureRate,
      failureStatus: Number(kit.config.chaosFailureStatus) as 500 | 502 | 503 | 504,
    });
    const relay = new OutboxRelay({
      store: repository.outbox,
      bus: stores.bus,
      topics: [PAYMENTS_TOPIC],
      logger: kit.logger,
    });
    const payments = new PaymentService({
      repository,
      provider: new ChaosPaymentProvider(new SimulatedPaymentProvider(), chaos),
      onEvents: (key, entries) => relay.offer(key, entries),
    });
    relay.start();
    const retentionMs = kit.config.idempotencyRetentionHours * 3_600_000;
    const sweeper = setInterval(() => {
      idempotencyStore
        .purgeCompleted(new Date(Date.now() - retentionMs))
        .catch((err: unknown) => kit.logger.warn({ err }, 'purging idempotency keys failed'));
    }, PURGE_INTERVAL_MS);
    sweeper.unref();
    const { createApp } = await import('./app.ts');
    const app = createApp({
      ...kit,
      payments,
      idempotency: new Idempotency({ store: idempotencyStore, waitMs: kit.config.idempotencyWaitMs }),
      chaos,
      bodyLimitBytes: kit.config.bodyLimitBytes,
      slowRequestMs: kit.config.slowRequestMs,
    });
    return {
      app,
      parts: { repository, chaos, relay, payments },
      closers: [
        {
          name: 'outbox-relay',
          close: () => {
            clearInterval(sweeper);
            return relay.stop();
          },
        },
        ...stores.closers,
      ],
    };
  },
});
