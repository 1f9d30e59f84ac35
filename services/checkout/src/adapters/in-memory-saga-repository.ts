import { InMemoryOutboxStore, type OutboxEntry } from '@meshmart/kit/events';
import { ACTIVE_STATUSES, type Saga } from '../domain/saga.ts';
import { SAGAS_COLLECTION, type SagaQuery, type SagaRepository } from './saga-repository.ts';

/** The twin: one map shared by every engine given this instance, which is how tests run two engines on one store. */
export class InMemorySagaRepository<C = unknown> implements SagaRepository<C> {
  readonly outbox = new InMemoryOutboxStore();
  private readonly sagas = new Map<string, Saga<C>>();
  private readonly byKey = new Map<string, string>();

  ensureIndexes(): Promise<void> {
    return Promise.resolve();
  }

  create(saga: Saga<C>, events: readonly OutboxEntry[]): Promise<{ created: boolean; saga: Saga<C> }> {
    const existing = this.byKey.get(saga.idempotencyKey);
    if (existing !== undefined) return Promise.resolve({ created: false, saga: this.copy(existing)! });
    if (this.sagas.has(saga.id)) return Promise.reject(new Error(`saga ${saga.id} exists`));
    this.sagas.set(saga.id, structuredClone(saga));
    this.byKey.set(saga.idempotencyKey, saga.id);
    if (events.length > 0) this.outbox.add({ collection: SAGAS_COLLECTION, id: saga.id }, events);
    return Promise.resolve({ created: true, saga: structuredClone(saga) });
  }

  get(id: string): Promise<Saga<C> | undefined> {
    return Promise.resolve(this.copy(id));
  }

  findByIdempotencyKey(key: string): Promise<Saga<C> | undefined> {
    const id = this.byKey.get(key);
    return Promise.resolve(id === undefined ? undefined : this.copy(id));
  }

  list(query: SagaQuery): Promise<Saga<C>[]> {
    const all = [...this.sagas.values()]
      .filter((s) => query.status === undefined || s.status === query.status)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .slice(0, query.limit);
    return Promise.resolve(all.map((s) => structuredClone(s)));
  }

  acquire(id: string, owner: string, now: number, until: number): Promise<Saga<C> | undefined> {
    const saga = this.sagas.get(id);
    if (!saga || !ACTIVE_STATUSES.includes(saga.status)) return Promise.resolve(undefined);
    const lease = saga.lease;
    if (lease && lease.until > now && lease.owner !== owner) return Promise.resolve(undefined);
    // A live lease of our own is renewed; an expired one is a takeover, even by its former owner.
    const generation = (lease?.generation ?? 0) + (lease && lease.until > now ? 0 : 1);
    saga.lease = { owner, until, generation };
    return Promise.resolve(structuredClone(saga));
  }

  save(saga: Saga<C>, owner: string, events: readonly OutboxEntry[] = []): Promise<boolean> {
    const current = this.sagas.get(saga.id);
    if (!current || current.lease?.owner !== owner) return Promise.resolve(false);
    this.sagas.set(saga.id, structuredClone(saga));
    if (events.length > 0) this.outbox.add({ collection: SAGAS_COLLECTION, id: saga.id }, events);
    return Promise.resolve(true);
  }

  expired(now: number, limit: number): Promise<string[]> {
    const ids = [...this.sagas.values()]
      .filter((s) => ACTIVE_STATUSES.includes(s.status) && (s.lease?.until ?? 0) <= now)
      .map((s) => s.id)
      .slice(0, limit);
    return Promise.resolve(ids);
  }

  private copy(id: string): Saga<C> | undefined {
    const saga = this.sagas.get(id);
    return saga ? structuredClone(saga) : undefined;
  }
}
