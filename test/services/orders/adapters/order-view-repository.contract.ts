import { expect } from 'chai';
import { decide, evolve, type OrderView } from '../../../../services/orders/src/domain/order-aggregate.ts';
import type { OrderViewRepository } from '../../../../services/orders/src/adapters/order-view-repository.ts';
import { placed } from './order-event-store.contract.ts';

const view = (id: string, userId: string, createdAt: string): OrderView =>
  evolve(undefined, placed(id, createdAt, userId));

/** What every OrderViewRepository must do; run against the in-memory twin and the MongoDB adapter. */
export function orderViewRepositoryContract(
  name: string,
  open: () => Promise<{ views: OrderViewRepository; close(): Promise<void> }>,
): void {
  describe(`OrderViewRepository contract: ${name}`, function () {
    let views: OrderViewRepository;
    let close: () => Promise<void>;
    beforeEach(async function () {
      const opened = await open();
      views = opened.views;
      close = () => opened.close();
    });
    afterEach(async function () {
      await close();
    });

    it('when a view is put, then get returns it whole', async function () {
      const v = view('o-1', 'alice', '2026-01-01T10:00:00.000Z');
      expect(await views.put(v)).to.equal('written');
      expect(await views.get('o-1')).to.deep.equal(v);
      expect(await views.get('o-2')).to.equal(undefined);
    });

    it('when a view of the same or an older version is put, then it is stale and the stored one stays', async function () {
      const v1 = view('o-1', 'alice', '2026-01-01T10:00:00.000Z');
      const v2 = evolve(v1, decide({ kind: 'confirm' }, v1, '2026-01-01T10:05:00.000Z')[0]);
      expect(await views.put(v2)).to.equal('written');
      expect(await views.put(v1)).to.equal('stale');
      expect(await views.put({ ...v2, status: 'CANCELLED' })).to.equal('stale');
      expect(await views.get('o-1')).to.deep.equal(v2);
    });

    it('when put with the hint that no view exists while one does, then the versions still decide', async function () {
      const v1 = view('o-1', 'alice', '2026-01-01T10:00:00.000Z');
      const v2 = evolve(v1, decide({ kind: 'confirm' }, v1, '2026-01-01T10:05:00.000Z')[0]);
      expect(await views.put(v1, { absent: true })).to.equal('written');
      expect(await views.put(v2, { absent: true })).to.equal('written');
      expect(await views.put(v1, { absent: true })).to.equal('stale');
      expect(await views.get('o-1')).to.deep.equal(v2);
    });

    it('when orders are listed, then they come newest first, filtered by user, paged with the total', async function () {
      await views.put(view('o-1', 'alice', '2026-01-01T10:00:00.000Z'));
      await views.put(view('o-2', 'bob', '2026-01-01T11:00:00.000Z'));
      await views.put(view('o-3', 'alice', '2026-01-01T12:00:00.000Z'));
      await views.put(view('o-4', 'alice', '2026-01-01T13:00:00.000Z'));
      const first = await views.list({ userId: 'alice', page: 1, limit: 2 });
      expect(first.total).to.equal(3);
      expect(first.items.map((v) => v.id)).to.deep.equal(['o-4', 'o-3']);
      const second = await views.list({ userId: 'alice', page: 2, limit: 2 });
      expect(second.items.map((v) => v.id)).to.deep.equal(['o-1']);
      const all = await views.list({ page: 1, limit: 10 });
      expect(all.items.map((v) => v.id)).to.deep.equal(['o-4', 'o-3', 'o-2', 'o-1']);
    });

    it('when the model is cleared, then nothing is left', async function () {
      await views.put(view('o-1', 'alice', '2026-01-01T10:00:00.000Z'));
      expect(await views.clear()).to.equal(1);
      expect((await views.list({ page: 1, limit: 10 })).total).to.equal(0);
    });
  });
}
