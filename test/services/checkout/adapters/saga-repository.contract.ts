import { expect } from 'chai';
import { outboxEntry } from '@meshmart/kit/events';
import type { SagaRepository } from '../../../../services/checkout/src/adapters/saga-repository.ts';
import type { Saga } from '../../../../services/checkout/src/domain/saga.ts';

type Ctx = { n: number };

export function sagaFixture(id: string, overrides: Partial<Saga<Ctx>> = {}): Saga<Ctx> {
  const at = overrides.createdAt ?? new Date().toISOString();
  return {
    id,
    definition: 'test',
    idempotencyKey: `key-${id}`,
    userId: 'u',
    orderId: `order-${id}`,
    status: 'RUNNING',
    context: { n: 1 },
    steps: [{ name: 'a', status: 'PENDING', attempts: 0, compensationAttempts: 0 }],
    log: [{ at, event: 'saga-started' }],
    lease: { owner: 'creator', until: Date.now() + 60_000, generation: 0 },
    trace: {},
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

const started = (id: string) =>
  outboxEntry('checkout.events', { type: 'CheckoutStarted', data: { sagaId: id } }, 'checkout');

/** The saga log: idempotent creation, leases that one engine at a time holds, conditional writes, recovery. */
export function sagaRepositoryContract(
  name: string,
  make: () => Promise<{ repository: SagaRepository<Ctx>; close: () => Promise<void> }>,
): void {
  describe(`SagaRepository contract: ${name}`, () => {
    let repo: SagaRepository<Ctx>;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ repository: repo, close } = await make());
      await repo.ensureIndexes();
    });
    afterEach(async () => close());

    it('when a saga is created, then it reads back as written, without its outbox, and its event is pending', async () => {
      const saga = sagaFixture('s-1');
      expect((await repo.create(saga, [started('s-1')])).created).to.equal(true);
      expect(await repo.get('s-1')).to.deep.equal(saga);
      expect(await repo.findByIdempotencyKey('key-s-1')).to.deep.equal(saga);
      const pending = await repo.outbox.pending(10);
      expect(pending.map((e) => e.envelope.type)).to.deep.equal(['CheckoutStarted']);
    });

    it('when a second saga has the same idempotency key, then the first is returned and nothing is added', async () => {
      await repo.create(sagaFixture('s-1'), [started('s-1')]);
      const dup = await repo.create(sagaFixture('s-2', { idempotencyKey: 'key-s-1' }), [started('s-2')]);
      expect(dup.created).to.equal(false);
      expect(dup.saga.id).to.equal('s-1');
      expect(await repo.get('s-2')).to.equal(undefined);
      expect(await repo.outbox.pending(10)).to.have.length(1);
    });

    it('when another engine holds a live lease, then acquire fails; once expired, one takeover bumps the generation', async () => {
      const now = Date.now();
      await repo.create(sagaFixture('s-1', { lease: { owner: 'a', until: now + 1000, generation: 0 } }), []);
      expect(await repo.acquire('s-1', 'b', now, now + 5000)).to.equal(undefined);
      const later = now + 2000;
      const results = await Promise.all([
        repo.acquire('s-1', 'b', later, later + 5000),
        repo.acquire('s-1', 'c', later, later + 5000),
      ]);
      const winners = results.filter((r) => r !== undefined);
      expect(winners).to.have.length(1);
      expect(winners[0].lease).to.include({ generation: 1 });
      const stored = await repo.get('s-1');
      expect(stored!.lease!.owner).to.equal(winners[0].lease!.owner);
    });

    it('when the holder acquires its own live lease, then it is renewed without a takeover', async () => {
      const now = Date.now();
      await repo.create(sagaFixture('s-1', { lease: { owner: 'a', until: now + 1000, generation: 3 } }), []);
      const renewed = await repo.acquire('s-1', 'a', now, now + 9000);
      expect(renewed!.lease).to.deep.equal({ owner: 'a', until: now + 9000, generation: 3 });
    });

    it('when a saga has ended, then nobody acquires it', async () => {
      await repo.create(sagaFixture('s-1', { status: 'COMPLETED', lease: null }), []);
      expect(await repo.acquire('s-1', 'a', Date.now(), Date.now() + 1000)).to.equal(undefined);
    });

    it('when a saga is saved by its lease holder, then the state and events are stored; by anyone else, nothing is', async () => {
      await repo.create(
        sagaFixture('s-1', { lease: { owner: 'a', until: Date.now() + 60_000, generation: 0 } }),
        [],
      );
      const saga = (await repo.get('s-1'))!;
      saga.status = 'COMPLETED';
      saga.context = { n: 2 };
      saga.reason = 'done';
      saga.finishedAt = new Date().toISOString();
      saga.lease = null;
      expect(await repo.save(saga, 'b', [started('s-1')])).to.equal(false);
      expect((await repo.get('s-1'))!.status).to.equal('RUNNING');
      expect(await repo.outbox.pending(10)).to.have.length(0);
      expect(await repo.save(saga, 'a', [started('s-1')])).to.equal(true);
      expect(await repo.get('s-1')).to.deep.equal(saga);
      expect(await repo.outbox.pending(10)).to.have.length(1);
    });

    it('when leases run out, then expired lists exactly the active sagas left behind', async () => {
      const now = Date.now();
      await repo.create(
        sagaFixture('live', { lease: { owner: 'a', until: now + 60_000, generation: 0 } }),
        [],
      );
      await repo.create(sagaFixture('dead', { lease: { owner: 'a', until: now - 1, generation: 0 } }), []);
      await repo.create(
        sagaFixture('undoing', { status: 'COMPENSATING', lease: { owner: 'a', until: 0, generation: 0 } }),
        [],
      );
      await repo.create(sagaFixture('over', { status: 'FAILED', lease: null }), []);
      expect((await repo.expired(now, 10)).sort()).to.deep.equal(['dead', 'undoing']);
    });

    it('when sagas are listed, then they come newest first, filtered by status and limited', async () => {
      const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
      await repo.create(sagaFixture('s-1', { createdAt: t(1), status: 'FAILED' }), []);
      await repo.create(sagaFixture('s-2', { createdAt: t(2) }), []);
      await repo.create(sagaFixture('s-3', { createdAt: t(3), status: 'FAILED' }), []);
      expect((await repo.list({ limit: 10 })).map((s) => s.id)).to.deep.equal(['s-3', 's-2', 's-1']);
      expect((await repo.list({ status: 'FAILED', limit: 10 })).map((s) => s.id)).to.deep.equal([
        's-3',
        's-1',
      ]);
      expect((await repo.list({ limit: 1 })).map((s) => s.id)).to.deep.equal(['s-3']);
    });
  });
}
