import type { OutboxEntry, OutboxStore } from '@meshmart/kit/events';
import type { Saga, SagaStatus } from '../domain/saga.ts';

export interface SagaQuery {
  readonly status?: SagaStatus | undefined;
  readonly limit: number;
}

/**
 * The saga log. Every transition is written before the next participant call, and only by the engine holding the
 * saga's lease (a conditional write), so two replicas never drive one saga.
 */
export interface SagaRepository<C = unknown> {
  ensureIndexes(): Promise<void>;
  /** Inserts a saga with its first events; when its idempotency key is taken, returns that saga instead. */
  create(saga: Saga<C>, events: readonly OutboxEntry[]): Promise<{ created: boolean; saga: Saga<C> }>;
  get(id: string): Promise<Saga<C> | undefined>;
  findByIdempotencyKey(key: string): Promise<Saga<C> | undefined>;
  /** Newest first. */
  list(query: SagaQuery): Promise<Saga<C>[]>;
  /**
   * Takes the lease of an active saga when it has expired or is already `owner`'s; undefined when another engine
   * holds it or the saga has ended.
   */
  acquire(id: string, owner: string, now: number, until: number): Promise<Saga<C> | undefined>;
  /** Writes the saga (its lease included) and its events if `owner` still holds the lease; false if it was lost. */
  save(saga: Saga<C>, owner: string, events?: readonly OutboxEntry[]): Promise<boolean>;
  /** Ids of active sagas whose lease ran out by `now`: their engine died or stopped. */
  expired(now: number, limit: number): Promise<string[]>;
  /** Where the relay finds the events written with the sagas. */
  readonly outbox: OutboxStore;
}

export const SAGAS_COLLECTION = 'sagas';
