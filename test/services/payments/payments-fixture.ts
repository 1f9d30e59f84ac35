import { OutboxRelay, type EventBus } from '@meshmart/kit/events';
import { createApp } from '../../../services/payments/src/app.ts';
import { Chaos } from '../../../services/payments/src/adapters/chaos-payment-provider.ts';
import { ChaosPaymentProvider } from '../../../services/payments/src/adapters/chaos-payment-provider.ts';
import type { IdempotencyStore } from '../../../services/payments/src/adapters/idempotency-store.ts';
import { InMemoryIdempotencyStore } from '../../../services/payments/src/adapters/in-memory-idempotency-store.ts';
import { InMemoryPaymentRepository } from '../../../services/payments/src/adapters/in-memory-payment-repository.ts';
import { MongoIdempotencyStore } from '../../../services/payments/src/adapters/mongo-idempotency-store.ts';
import { MongoPaymentRepository } from '../../../services/payments/src/adapters/mongo-payment-repository.ts';
import type { PaymentRepository } from '../../../services/payments/src/adapters/payment-repository.ts';
import { SimulatedPaymentProvider } from '../../../services/payments/src/adapters/simulated-payment-provider.ts';
import { Idempotency } from '../../../services/payments/src/domain/idempotency.ts';
import { PaymentService } from '../../../services/payments/src/domain/payment-service.ts';
import {
  testBus,
  testKit,
  testMongo,
  testRedis,
  type Backend,
  type TestMongo,
  type TestRedis,
} from '../../support/stores.ts';

export interface PaymentsFixture {
  readonly app: ReturnType<typeof createApp>;
  readonly repository: PaymentRepository;
  readonly chaos: Chaos;
  readonly bus: EventBus;
  readonly relay: OutboxRelay;
  readonly metrics: ReturnType<typeof testKit>['metrics'];
  /** Payments stored, straight from the store. */
  count(): Promise<number>;
  close(): Promise<void>;
}

/** The payments app on the twins or on FerretDB + Redis Streams, with its outbox relay running. */
export async function paymentsFixture(
  backend: Backend,
  options: { waitMs?: number; leaseMs?: number } = {},
): Promise<PaymentsFixture> {
  const kit = testKit('payments');
  let mongo: TestMongo | undefined;
  let redis: TestRedis | undefined;
  let repository: PaymentRepository;
  let store: IdempotencyStore;
  let count: () => Promise<number>;
  if (backend === 'real') {
    mongo = await testMongo('payments');
    redis = await testRedis('payments');
    const repo = new MongoPaymentRepository(mongo.db);
    await repo.ensureIndexes();
    repository = repo;
    store = new MongoIdempotencyStore(mongo.db);
    const db = mongo.db;
    count = () => db.collection('payments').countDocuments();
  } else {
    const repo = new InMemoryPaymentRepository();
    repository = repo;
    store = new InMemoryIdempotencyStore();
    count = () => Promise.resolve(repo.size);
  }
  const bus = testBus(backend, 'payments', redis);
  const chaos = new Chaos();
  const relay = new OutboxRelay({
    store: repository.outbox,
    bus,
    topics: ['payments.events'],
    intervalMs: 50,
  });
  const payments = new PaymentService({
    repository,
    provider: new ChaosPaymentProvider(new SimulatedPaymentProvider(), chaos),
    onEvents: (key, entries) => relay.offer(key, entries),
  });
  relay.start();
  const app = createApp({
    ...kit,
    payments,
    idempotency: new Idempotency({ store, ...options }),
    chaos,
    bodyLimitBytes: 4096,
  });
  return {
    app,
    repository,
    chaos,
    bus,
    relay,
    metrics: kit.metrics,
    count,
    async close() {
      await relay.stop();
      await bus.close();
      await mongo?.close();
      await redis?.close();
    },
  };
}
