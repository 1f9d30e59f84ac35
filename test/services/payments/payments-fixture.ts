import type { RequestListener } from 'node:http';
import { buildService } from '@meshmart/kit';
import type { EventBus, OutboxRelay } from '@meshmart/kit/events';
import type { Chaos } from '../../../services/payments/src/adapters/chaos-payment-provider.ts';
import { InMemoryPaymentRepository } from '../../../services/payments/src/adapters/in-memory-payment-repository.ts';
import type { PaymentRepository } from '../../../services/payments/src/adapters/payment-repository.ts';
import { definition } from '../../../services/payments/src/service.ts';
import { storesEnv } from '../../support/service-env.ts';
import { testBus, testKit, type Backend } from '../../support/stores.ts';

export interface PaymentsFixture {
  readonly app: RequestListener;
  readonly repository: PaymentRepository;
  readonly chaos: Chaos;
  /** The host's bus the service publishes on: subscribe to see its events. */
  readonly bus: EventBus;
  readonly relay: OutboxRelay;
  readonly metrics: ReturnType<typeof testKit>['metrics'];
  /** Payments stored, straight from the store. */
  count(): Promise<number>;
  close(): Promise<void>;
}

/** The payments service built by its definition (service.ts), on the twins or on FerretDB + Redis Streams. */
export async function paymentsFixture(
  backend: Backend,
  options: { waitMs?: number } = {},
): Promise<PaymentsFixture> {
  const stores = await storesEnv(backend, 'payments');
  const bus = testBus(backend, 'payments', stores.redis);
  const payments = await buildService(definition, {
    env: {
      ...stores.env,
      BODY_LIMIT_BYTES: '4096',
      ...(options.waitMs !== undefined ? { IDEMPOTENCY_WAIT_MS: String(options.waitMs) } : {}),
    },
    host: { bus },
    logger: testKit('payments').logger,
  });
  const { repository, chaos, relay } = payments.parts;
  const db = stores.mongo?.db;
  return {
    app: payments.app,
    repository,
    chaos,
    bus,
    relay,
    metrics: payments.metrics,
    count: () =>
      repository instanceof InMemoryPaymentRepository
        ? Promise.resolve(repository.size)
        : db!.collection('payments').countDocuments(),
    async close() {
      await payments.close();
      await bus.close();
      await stores.close();
    },
  };
}
