import type { RequestListener } from 'node:http';
import { buildService } from '@meshmart/kit';
import { InMemoryParticipants } from '../../../services/checkout/src/adapters/in-memory-participants.ts';
import { InMemorySagaRepository } from '../../../services/checkout/src/adapters/in-memory-saga-repository.ts';
import { MongoSagaRepository } from '../../../services/checkout/src/adapters/mongo-saga-repository.ts';
import type { SagaRepository } from '../../../services/checkout/src/adapters/saga-repository.ts';
import type { CheckoutCore } from '../../../services/checkout/src/checkout.ts';
import type { CheckoutContext } from '../../../services/checkout/src/domain/checkout-saga.ts';
import { definition } from '../../../services/checkout/src/service.ts';
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
  readonly app: RequestListener;
  readonly kit: ReturnType<typeof testKit>;
  /** Closes the service as its process would: the saga engine and relay, then its event bus. */
  close(): Promise<void>;
}

/**
 * The checkout built by its definition (service.ts) over a saga store and participants shared as one process's
 * replicas would share them, with FAST_RETRY's retries; its engine's recovery and relay wait for `core.start()`.
 */
export async function checkoutOn(
  repository: Repo,
  participants: InMemoryParticipants,
  options: {
    owner?: string;
    /** SAGA_LEASE_MS (at least 100). @default 5000 */
    leaseMs?: number;
    recoveryIntervalMs?: number;
    /** The pivot's, the later steps' and the compensations' attempts. @default FAST_RETRY's */
    forwardAttempts?: number;
    /** SAGA_MAX_IN_FLIGHT. @default no limit */
    maxInFlight?: number;
    /** SAGA_PROGRESS_WRITE_MS. @default the service's */
    progressWriteMs?: number;
  } = {},
): Promise<Checkout> {
  const kit = testKit('checkout');
  const checkout = await buildService(definition, {
    env: {
      SAGA_MAX_ATTEMPTS: String(FAST_RETRY.maxAttempts),
      SAGA_BACKOFF_MS: String(FAST_RETRY.backoffMs),
      SAGA_MAX_BACKOFF_MS: String(FAST_RETRY.maxBackoffMs),
      SAGA_FORWARD_MAX_ATTEMPTS: String(options.forwardAttempts ?? FAST_RETRY.maxAttempts),
      SAGA_LEASE_MS: String(options.leaseMs ?? 5000),
      // The participants are in memory: no call waits for UPSTREAM_TIMEOUT_MS.
      UPSTREAM_TIMEOUT_MS: '1',
      SAGA_RECOVERY_INTERVAL_MS: String(options.recoveryIntervalMs ?? 20),
      SAGA_MAX_IN_FLIGHT: String(options.maxInFlight ?? 0),
      ...(options.progressWriteMs !== undefined
        ? { SAGA_PROGRESS_WRITE_MS: String(options.progressWriteMs) }
        : {}),
    },
    overrides: {
      repository,
      participants,
      start: false,
      ...(options.owner ? { owner: options.owner } : {}),
    },
    logger: kit.logger,
  });
  return {
    core: checkout.parts.core,
    app: checkout.app,
    kit: { ...kit, metrics: checkout.metrics, health: checkout.health },
    close: () => checkout.close(),
  };
}

/** Event types waiting in the sagas' outbox, in order. */
export async function outboxTypes(repository: Repo): Promise<string[]> {
  return (await repository.outbox.pending(1000)).map((e) => e.envelope.type);
}
