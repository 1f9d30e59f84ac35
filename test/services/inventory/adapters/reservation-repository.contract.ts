import { expect } from 'chai';
import type { ReservationRepository } from '../../../../services/inventory/src/adapters/reservation-repository.ts';
import { inventoryEvent } from '../../../../services/inventory/src/domain/inventory-events.ts';
import type { Reservation } from '../../../../services/inventory/src/domain/stock.ts';

export interface ReservationRepositoryFixture {
  readonly repo: ReservationRepository;
  /** Events waiting in the outbox (the relay is not running). */
  pendingEvents(): Promise<string[]>;
  close(): Promise<void>;
}

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

export function reservation(id: string, changes: Partial<Reservation> = {}): Reservation {
  return {
    id,
    orderId: `o-${id}`,
    items: [
      { productId: 'p-1', quantity: 2 },
      { productId: 'p-2', quantity: 1 },
    ],
    status: 'PENDING',
    expiresAt: at(900),
    createdAt: T0,
    updatedAt: T0,
    ...changes,
  };
}

export function reservationRepositoryContract(
  name: string,
  make: () => Promise<ReservationRepositoryFixture>,
): void {
  describe(`ReservationRepository contract: ${name}`, function () {
    let f: ReservationRepositoryFixture;
    beforeEach(async function () {
      f = await make();
    });
    afterEach(async function () {
      await f.close();
    });

    it('when a reservation is created, then it reads back as written', async function () {
      expect(await f.repo.create(reservation('r-1'))).to.equal(true);
      expect(await f.repo.get('r-1')).to.deep.equal(reservation('r-1'));
      expect(await f.repo.get('r-2')).to.equal(undefined);
    });

    it('when the same id is created again, then it is refused and the first stays', async function () {
      await f.repo.create(reservation('r-1'));
      expect(await f.repo.create(reservation('r-1', { orderId: 'other' }))).to.equal(false);
      expect((await f.repo.get('r-1'))?.orderId).to.equal('o-r-1');
    });

    it('when a transition matches the status, then it applies with its changes and events', async function () {
      await f.repo.create(reservation('r-1'));
      const rejection = { code: 'out-of-stock' as const, products: ['p-1'] };
      const done = await f.repo.transition('r-1', ['PENDING'], 'REJECTED', { rejection, at: at(5) }, []);
      expect(done).to.deep.equal(reservation('r-1', { status: 'REJECTED', rejection, updatedAt: at(5) }));
      expect(await f.repo.get('r-1')).to.deep.equal(done);
    });

    it('when a transition does not match the status, then nothing changes and no event is written', async function () {
      await f.repo.create(reservation('r-1', { status: 'HELD' }));
      const event = inventoryEvent('StockCommitted', { reservationId: 'r-1', orderId: 'o', items: [] });
      expect(await f.repo.transition('r-1', ['PENDING'], 'COMMITTED', { at: at(1) }, [event])).to.equal(
        undefined,
      );
      expect(await f.repo.transition('nope', ['HELD'], 'COMMITTED', { at: at(1) }, [event])).to.equal(
        undefined,
      );
      expect((await f.repo.get('r-1'))?.status).to.equal('HELD');
      expect(await f.pendingEvents()).to.deep.equal([]);
      await f.repo.transition('r-1', ['HELD'], 'COMMITTED', { at: at(1) }, [event]);
      expect(await f.pendingEvents()).to.deep.equal(['StockCommitted']);
    });

    it('when ten transitions from HELD race, then exactly one wins', async function () {
      await f.repo.create(reservation('r-1', { status: 'HELD' }));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          f.repo.transition('r-1', ['HELD'], i % 2 ? 'RELEASED' : 'COMMITTED', { at: at(i) }, []),
        ),
      );
      expect(results.filter((r) => r !== undefined)).to.have.length(1);
    });

    it('when reservations are read by ids, then those that exist come back', async function () {
      await f.repo.create(reservation('r-1'));
      await f.repo.create(reservation('r-2', { status: 'HELD' }));
      const found = await f.repo.getMany(['r-2', 'nope', 'r-1', 'r-2']);
      expect(found.map((r) => r.id).sort()).to.deep.equal(['r-1', 'r-2']);
      expect(found.find((r) => r.id === 'r-2')).to.deep.equal(reservation('r-2', { status: 'HELD' }));
      expect(await f.repo.getMany([])).to.deep.equal([]);
    });

    it('when a transition asks for an unexpired reservation, then it applies only before expiresAt', async function () {
      await f.repo.create(reservation('r-1', { status: 'HELD', expiresAt: at(10) }));
      const late = { at: at(10), unexpiredAt: at(10) };
      expect(await f.repo.transition('r-1', ['HELD'], 'COMMITTED', late, [])).to.equal(undefined);
      expect((await f.repo.get('r-1'))?.status).to.equal('HELD');
      const inTime = { at: at(9), unexpiredAt: at(9) };
      expect((await f.repo.transition('r-1', ['HELD'], 'COMMITTED', inTime, []))?.status).to.equal(
        'COMMITTED',
      );
    });

    it('when reservations are due, then expired lists HELD ones past expiresAt and stalePending old PENDING ones', async function () {
      await f.repo.create(reservation('held-old', { status: 'HELD', expiresAt: at(10) }));
      await f.repo.create(reservation('held-new', { status: 'HELD', expiresAt: at(100) }));
      await f.repo.create(reservation('done-old', { status: 'COMMITTED', expiresAt: at(10) }));
      await f.repo.create(reservation('pending-old', { createdAt: at(0) }));
      await f.repo.create(reservation('pending-new', { createdAt: at(50) }));
      expect((await f.repo.expired(at(20), 10)).map((r) => r.id)).to.deep.equal(['held-old']);
      expect((await f.repo.stalePending(at(20), 10)).map((r) => r.id)).to.deep.equal(['pending-old']);
      expect(await f.repo.expired(at(20), 0)).to.satisfy((l: unknown[]) => l.length <= 1);
    });
  });
}
