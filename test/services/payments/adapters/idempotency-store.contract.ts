import { expect } from 'chai';
import type { IdempotencyStore } from '../../../../services/payments/src/adapters/idempotency-store.ts';
import { eventually } from '../../../support/wait.ts';

/** What every IdempotencyStore must do; run against the twin and the Mongo adapter. */
export function idempotencyStoreContract(
  make: () => Promise<{ store: IdempotencyStore; close: () => Promise<void> }>,
) {
  let store: IdempotencyStore;
  let close: () => Promise<void>;
  beforeEach(async () => ({ store, close } = await make()));
  afterEach(() => close());

  describe('when a key is new', () => {
    it('then the first caller starts it and a second one finds it in progress', async () => {
      expect(await store.begin('k1', 'h', 't1', 30_000)).to.deep.equal({ kind: 'started', resumed: false });
      expect(await store.begin('k1', 'h', 't2', 30_000)).to.deep.equal({ kind: 'in-progress' });
    });
  });

  describe('when two callers begin the same key at once', () => {
    it('then exactly one starts it', async () => {
      const results = await Promise.all([
        store.begin('k2', 'h', 'a', 30_000),
        store.begin('k2', 'h', 'b', 30_000),
      ]);
      expect(results.filter((r) => r.kind === 'started')).to.have.length(1);
    });
  });

  describe('when a started key is completed', () => {
    it('then later callers get the stored response', async () => {
      await store.begin('k3', 'h', 't1', 30_000);
      await store.complete('k3', 't1', { status: 201, body: { id: 'p1', n: [1, 2] } });
      expect(await store.begin('k3', 'h', 't2', 30_000)).to.deep.equal({
        kind: 'completed',
        response: { status: 201, body: { id: 'p1', n: [1, 2] } },
      });
    });
  });

  describe('when the same key comes with another request hash', () => {
    it('then it is a mismatch', async () => {
      await store.begin('k4', 'h1', 't1', 30_000);
      expect(await store.begin('k4', 'h2', 't2', 30_000)).to.deep.equal({ kind: 'mismatch' });
    });
  });

  describe('when a started key is abandoned', () => {
    it('then the next caller starts it again', async () => {
      await store.begin('k5', 'h', 't1', 30_000);
      await store.abandon('k5', 't1');
      expect(await store.begin('k5', 'h', 't2', 30_000)).to.deep.equal({ kind: 'started', resumed: false });
    });
  });

  describe('when a claim outlives its lease', () => {
    it('then another caller takes it over and the old holder can no longer complete it', async () => {
      await store.begin('k6', 'h', 'old', 1);
      // In progress until the 1 ms lease has run out, then the next caller starts it.
      // The take-over says the key was held before (its run may have done part of the work).
      await eventually(async () => {
        const begun = await store.begin('k6', 'h', 'new', 30_000);
        return begun.kind === 'started' && begun.resumed;
      }, 'a caller to take over once the 1 ms lease ran out');
      await store.complete('k6', 'old', { status: 500, body: 'stale' });
      await store.complete('k6', 'new', { status: 200, body: 'fresh' });
      expect(await store.begin('k6', 'h', 'x', 30_000)).to.deep.equal({
        kind: 'completed',
        response: { status: 200, body: 'fresh' },
      });
    });
  });

  describe('when completed keys are older than the retention', () => {
    it('then they are purged and a pending or newer one stays', async () => {
      await store.begin('old', 'h', 't', 30_000);
      await store.complete('old', 't', { status: 201, body: {} });
      await store.begin('running', 'h', 't', 30_000);
      const purged = await store.purgeCompleted(new Date(Date.now() + 1000));
      expect(purged).to.equal(1);
      expect(await store.begin('old', 'other', 'u', 30_000)).to.deep.equal({
        kind: 'started',
        resumed: false,
      });
      expect(await store.begin('running', 'h', 'u', 30_000)).to.deep.equal({ kind: 'in-progress' });
      await store.begin('fresh', 'h', 't', 30_000);
      await store.complete('fresh', 't', { status: 200, body: {} });
      expect(await store.purgeCompleted(new Date(Date.now() - 60_000))).to.equal(0);
    });
  });
}
