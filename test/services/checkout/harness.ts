import { InMemoryParticipants } from '../../../services/checkout/src/adapters/in-memory-participants.ts';
import { InMemorySagaRepository } from '../../../services/checkout/src/adapters/in-memory-saga-repository.ts';
import { MongoSagaRepository } from '../../../services/checkout/src/adapters/mongo-saga-repository.ts';
import type { SagaRepository } from '../../../services/checkout/src/adapters/saga-repository.ts';
import { createApp } from '../../../services/checkout/src/app.ts';
import { createCheckoutCore, type CheckoutCore } from '../../../services/checkout/src/checkout.ts';
import type { CheckoutContext } from '../../../services/checkout/src/domain/checkout-saga.ts';
import { testKit, testMongo, type Backend, type TestMongo } from '../../support/stores.ts';

export type Repo = SagaRepository<CheckoutContext>;

/** A saga store for one test: the twin, or a fresh database on the test FerretDB. */
export async function sagaStore(backend: Backend): Promise<{ repository: Repo; close: () => Promise<void> }> {
  if (backend === 'memory') {
    return { repository: new InMemorySagaRepository<CheckoutContext>(), close: () => Promise.resolve() };
  }
  const mongo: TestMongo = await testMongo('checkout');
  const repository = new MongoSagaRepository<CheckoutContext>(mongo.db);
  await repository.ensureIndexes();
  return { repository, close: () => mongo.close() };
}

/** Participants with two products in stock and alice's cart filled (2 x p1 at 1500, 1 x p2 at 2500). */
export function seededParticipants(): InMemoryParticipants {
  const p = new InMemoryParticipants();
  p.setStock('p1', 10);
  p.setStock('p2', 5);
  p.setCart('alice', [
    { productId: 'p1', name: 'Lamp', unitPriceCents: 1500, quantity: 2 },
    { productId: 'p2', name: 'Mug', unitPriceCents: 2500, quantity: 1 },
  ]);
  return p;
}

export const FAST_RETRY = { maxAttempts: 3, backoffMs: 1, maxBackoffMs: 5 };

export interface Checkout {
  readonly core: CheckoutCore;
  readonly app: ReturnType<typeof createApp>;
  readonly kit: ReturnType<typeof testKit>;
}

/** The checkout core and app over a store and participants, as service.ts wires them (without a bus). */
export function checkoutOn(
  repository: Repo,
  participants: InMemoryParticipants,
  options: {
    owner?: string;
    leaseMs?: number;
    recoveryIntervalMs?: number;
    /** The pivot's, the later steps' and the compensations' attempts. @default FAST_RETRY's */
    forwardAttempts?: number;
    /** SAGA_MAX_IN_FLIGHT. @default no limit */
    maxInFlight?: number;
  } = {},
): Checkout {
  const kit = testKit('checkout');
  const core = createCheckoutCore({
    repository,
    participants,
    logger: kit.logger,
    metrics: kit.metrics,
    saga: {
      retry: FAST_RETRY,
      ...(options.forwardAttempts
        ? { forwardRetry: { ...FAST_RETRY, maxAttempts: options.forwardAttempts } }
        : {}),
    },
    leaseMs: options.leaseMs ?? 5000,
    recoveryIntervalMs: options.recoveryIntervalMs ?? 20,
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
  });
  const app = createApp({ ...kit, checkout: core.checkout, repository });
  return { core, app, kit };
}

/** Event types waiting in the sagas' outbox, in order. */
export async function outboxTypes(repository: Repo): Promise<string[]> {
  return (await repository.outbox.pending(1000)).map((e) => e.envelope.type);
}
