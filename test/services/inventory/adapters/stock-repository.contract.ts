import { expect } from 'chai';
import type { StockRepository } from '../../../../services/inventory/src/adapters/stock-repository.ts';

export interface StockRepositoryFixture {
  readonly repo: StockRepository;
  close(): Promise<void>;
}

/** What every StockRepository must do, the twin and the Mongo adapter alike. */
export function stockRepositoryContract(name: string, make: () => Promise<StockRepositoryFixture>): void {
  describe(`StockRepository contract: ${name}`, function () {
    let f: StockRepositoryFixture;
    beforeEach(async function () {
      f = await make();
    });
    afterEach(async function () {
      await f.close();
    });

    it('when stock is set for a new product, then it exists with nothing reserved', async function () {
      expect(await f.repo.get('p-1')).to.equal(undefined);
      expect(await f.repo.setAvailable('p-1', 7, [])).to.deep.equal({
        productId: 'p-1',
        available: 7,
        reserved: 0,
      });
      expect(await f.repo.get('p-1')).to.deep.equal({ productId: 'p-1', available: 7, reserved: 0 });
    });

    it('when a product is seeded twice, then the second seed changes nothing', async function () {
      expect(await f.repo.seed('p-1', 5, [])).to.equal(true);
      await f.repo.hold('p-1', 'r-1', 2);
      expect(await f.repo.seed('p-1', 100, [])).to.equal(false);
      expect(await f.repo.get('p-1')).to.deep.equal({ productId: 'p-1', available: 3, reserved: 2 });
    });

    it('when several products are listed, then the known ones come back in the order asked', async function () {
      await f.repo.setAvailable('b', 2, []);
      await f.repo.setAvailable('a', 1, []);
      const levels = await f.repo.list(['a', 'zz', 'b']);
      expect(levels.map((l) => l.productId)).to.deep.equal(['a', 'b']);
    });

    it('when units are held, then they move from available to reserved once per reservation', async function () {
      await f.repo.setAvailable('p-1', 5, []);
      expect(await f.repo.hold('p-1', 'r-1', 3)).to.equal(true);
      expect(await f.repo.hold('p-1', 'r-1', 1)).to.equal(false);
      expect(await f.repo.get('p-1')).to.deep.equal({ productId: 'p-1', available: 2, reserved: 3 });
      expect(await f.repo.withHolds(10)).to.deep.equal([{ productId: 'p-1', holds: ['r-1'] }]);
    });

    it('when more units are asked than available, or the product is unknown, then nothing moves', async function () {
      await f.repo.setAvailable('p-1', 2, []);
      expect(await f.repo.hold('p-1', 'r-1', 3)).to.equal(false);
      expect(await f.repo.hold('nope', 'r-1', 1)).to.equal(false);
      expect(await f.repo.get('p-1')).to.deep.equal({ productId: 'p-1', available: 2, reserved: 0 });
      expect(await f.repo.get('nope')).to.equal(undefined);
      expect(await f.repo.withHolds(10)).to.deep.equal([]);
    });

    it('when a hold is consumed, then the reserved units leave and a repeat does nothing', async function () {
      await f.repo.setAvailable('p-1', 5, []);
      await f.repo.hold('p-1', 'r-1', 2);
      expect(await f.repo.consumeHold('p-1', 'r-1', 2)).to.equal(true);
      expect(await f.repo.consumeHold('p-1', 'r-1', 2)).to.equal(false);
      expect(await f.repo.returnHold('p-1', 'r-1', 2)).to.equal(false);
      expect(await f.repo.get('p-1')).to.deep.equal({ productId: 'p-1', available: 3, reserved: 0 });
    });

    it('when a hold is returned, then the units are available again and a repeat does nothing', async function () {
      await f.repo.setAvailable('p-1', 5, []);
      await f.repo.hold('p-1', 'r-1', 2);
      await f.repo.hold('p-1', 'r-2', 1);
      expect(await f.repo.returnHold('p-1', 'r-1', 2)).to.equal(true);
      expect(await f.repo.returnHold('p-1', 'r-1', 2)).to.equal(false);
      expect(await f.repo.get('p-1')).to.deep.equal({ productId: 'p-1', available: 4, reserved: 1 });
      expect(await f.repo.withHolds(10)).to.deep.equal([{ productId: 'p-1', holds: ['r-2'] }]);
    });

    it('when stock is set while units are held, then the reserved units stay as they are', async function () {
      await f.repo.setAvailable('p-1', 5, []);
      await f.repo.hold('p-1', 'r-1', 2);
      expect(await f.repo.setAvailable('p-1', 10, [])).to.deep.equal({
        productId: 'p-1',
        available: 10,
        reserved: 2,
      });
    });

    it('when a hold is consumed and returned by racing callers, then exactly one of them moves its units', async function () {
      await f.repo.setAvailable('p-1', 5, []);
      await f.repo.hold('p-1', 'r-1', 2);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          i % 2 ? f.repo.consumeHold('p-1', 'r-1', 2) : f.repo.returnHold('p-1', 'r-1', 2),
        ),
      );
      expect(results.filter(Boolean)).to.have.length(1);
      const { available, reserved } = (await f.repo.get('p-1'))!;
      expect(reserved).to.equal(0);
      expect(available).to.be.oneOf([3, 5]);
      expect(await f.repo.withHolds(10)).to.deep.equal([]);
    });

    it('when 50 holds of one unit race for 10 units, then exactly 10 succeed and available ends at 0', async function () {
      await f.repo.setAvailable('p-1', 10, []);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => f.repo.hold('p-1', `r-${i}`, 1)),
      );
      expect(results.filter(Boolean)).to.have.length(10);
      expect(await f.repo.get('p-1')).to.deep.equal({ productId: 'p-1', available: 0, reserved: 10 });
    });
  });
}
