import { expect } from 'chai';
import type { CartRepository } from '../../../../services/cart/src/adapters/cart-repository.ts';
import type { CartLine } from '../../../../services/cart/src/domain/cart.ts';

export interface CartRepositoryFixture {
  readonly repo: CartRepository;
  /** Lets `ms` pass (really, or on the twin's clock). */
  pass(ms: number): Promise<void>;
  /** The clock the TTL runs on, in ms (the real one, or the twin's). */
  now(): number;
  close(): Promise<void>;
}

export const line = (productId: string, quantity = 1, unitPriceCents = 500): CartLine => ({
  productId,
  name: `Name of ${productId}`,
  image: `/images/${productId}.webp`,
  unitPriceCents,
  quantity,
  addedAt: '2026-01-01T00:00:00.000Z',
});

/** What every CartRepository must do; `make` builds one whose TTL is `ttlSeconds`. */
export function cartRepositoryContract(
  name: string,
  make: (ttlSeconds: number) => Promise<CartRepositoryFixture>,
): void {
  describe(`CartRepository contract: ${name}`, function () {
    let f: CartRepositoryFixture;
    afterEach(async function () {
      await f.close();
    });

    describe('with a long TTL', function () {
      beforeEach(async function () {
        f = await make(3600);
      });

      it('when a user has no cart, then it has no lines and no expiry', async function () {
        expect(await f.repo.lines('alice')).to.deep.equal([]);
        expect(await f.repo.line('alice', 'p-1')).to.equal(undefined);
        expect(await f.repo.expiresIn('alice')).to.equal(undefined);
      });

      it('when lines are put, then they read back and a second put replaces the line', async function () {
        expect(await f.repo.putLine('alice', line('p-1', 2), 50)).to.equal(true);
        expect(await f.repo.putLine('alice', line('p-1', 5), 50)).to.equal(true);
        expect(await f.repo.lines('alice')).to.deep.equal([line('p-1', 5)]);
        expect(await f.repo.line('alice', 'p-1')).to.deep.equal(line('p-1', 5));
        expect(await f.repo.lines('bob')).to.deep.equal([]);
      });

      it('when the cart is full, then a new line is refused but existing lines can change', async function () {
        await f.repo.putLine('alice', line('a'), 2);
        await f.repo.putLine('alice', line('b'), 2);
        expect(await f.repo.putLine('alice', line('c'), 2)).to.equal(false);
        expect(await f.repo.putLine('alice', line('a', 3), 2)).to.equal(true);
        const lines = await f.repo.lines('alice');
        expect(lines.map((l) => `${l.productId}:${l.quantity}`).sort()).to.deep.equal(['a:3', 'b:1']);
      });

      it('when 20 different lines are put at once, then every one survives', async function () {
        await Promise.all(Array.from({ length: 20 }, (_, i) => f.repo.putLine('alice', line(`p-${i}`), 50)));
        expect(await f.repo.lines('alice')).to.have.length(20);
      });

      it('when 10 new lines race for the last 3 places, then exactly 3 get in', async function () {
        for (let i = 0; i < 7; i++) await f.repo.putLine('alice', line(`old-${i}`), 10);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => f.repo.putLine('alice', line(`new-${i}`), 10)),
        );
        expect(results.filter(Boolean)).to.have.length(3);
        expect(await f.repo.lines('alice')).to.have.length(10);
      });

      it('when a line is removed, then the others stay; removing the last empties the cart', async function () {
        await f.repo.putLine('alice', line('a'), 50);
        await f.repo.putLine('alice', line('b'), 50);
        await f.repo.removeLine('alice', 'a');
        await f.repo.removeLine('alice', 'nope');
        expect((await f.repo.lines('alice')).map((l) => l.productId)).to.deep.equal(['b']);
        await f.repo.removeLine('alice', 'b');
        expect(await f.repo.lines('alice')).to.deep.equal([]);
        expect(await f.repo.expiresIn('alice')).to.equal(undefined);
      });

      it('when what an order bought is taken out, then quantities go down, lines at zero go, and a repeat changes nothing', async function () {
        await f.repo.putLine('alice', line('lamp', 3), 10);
        await f.repo.putLine('alice', line('mug', 1), 10);
        await f.repo.putLine('alice', line('vase', 2), 10);
        const bought = [
          { productId: 'lamp', quantity: 1 },
          { productId: 'mug', quantity: 1 },
          { productId: 'gone', quantity: 4 },
        ];
        expect(await f.repo.removeBought('alice', 'o-1', bought)).to.equal(true);
        const left = async () =>
          (await f.repo.lines('alice'))
            .map((l) => [l.productId, l.quantity])
            .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
        expect(await left()).to.deep.equal([
          ['lamp', 2],
          ['vase', 2],
        ]);
        expect((await f.repo.line('alice', 'lamp'))?.unitPriceCents).to.equal(500);
        // The shopper puts the mug back; the same order's call again (a retry) leaves it there.
        await f.repo.putLine('alice', line('mug', 1), 10);
        expect(await f.repo.removeBought('alice', 'o-1', bought)).to.equal(false);
        expect(await left()).to.deep.equal([
          ['lamp', 2],
          ['mug', 1],
          ['vase', 2],
        ]);
        expect(await f.repo.removeBought('alice', 'o-2', [{ productId: 'lamp', quantity: 2 }])).to.equal(
          true,
        );
        expect((await left()).map(([id]) => id)).to.deep.equal(['mug', 'vase']);
      });

      it('when a cart is cleared, then it is empty and other carts stay', async function () {
        await f.repo.putLine('alice', line('a'), 50);
        await f.repo.putLine('bob', line('a'), 50);
        await f.repo.clear('alice');
        expect(await f.repo.lines('alice')).to.deep.equal([]);
        expect(await f.repo.lines('bob')).to.have.length(1);
      });

      it('when a line is written, then the cart expires after the TTL from now', async function () {
        await f.repo.putLine('alice', line('a'), 50);
        expect(await f.repo.expiresIn('alice')).to.be.within(3590, 3600);
      });
    });

    describe('with a TTL of one second', function () {
      const TTL_MS = 1000;
      beforeEach(async function () {
        f = await make(1);
      });

      /**
       * Asserts what a read within the TTL of a write must see — if the read came back within it. A machine slow enough
       * to take longer than the TTL between the write and the read proves nothing either way, so that is not a failure.
       * `wroteAt` is taken just before the write.
       */
      const withinTtl = async <T>(wroteAt: number, read: () => Promise<T>, check: (value: T) => void) => {
        const value = await read();
        if (f.now() - wroteAt < TTL_MS) check(value);
      };

      it('when the TTL runs out after the last write, then the cart is gone', async function () {
        await f.repo.putLine('alice', line('a'), 50);
        await f.pass(1200);
        expect(await f.repo.lines('alice')).to.deep.equal([]);
        expect(await f.repo.putLine('alice', line('b'), 1)).to.equal(true);
        expect((await f.repo.lines('alice')).map((l) => l.productId)).to.deep.equal(['b']);
      });

      it('when the cart is written again before the TTL runs out, then the TTL starts over', async function () {
        await f.repo.putLine('alice', line('a'), 50);
        await f.pass(600);
        let wroteAt = f.now();
        await f.repo.putLine('alice', line('b'), 50);
        await f.pass(600);
        await withinTtl(
          wroteAt,
          () => f.repo.lines('alice'),
          (lines) => expect(lines).to.have.length(2),
        );
        wroteAt = f.now();
        await f.repo.removeLine('alice', 'b');
        await f.pass(600);
        await withinTtl(
          wroteAt,
          () => f.repo.lines('alice'),
          (lines) => expect(lines.map((l) => l.productId)).to.deep.equal(['a']),
        );
      });

      it('when the cart is only read, then the TTL is not extended', async function () {
        const wroteAt = f.now();
        await f.repo.putLine('alice', line('a'), 50);
        await f.pass(600);
        await withinTtl(
          wroteAt,
          () => f.repo.lines('alice'),
          (lines) => expect(lines).to.have.length(1),
        );
        await f.pass(600);
        // At least the TTL has passed since the write (a slow machine only adds more), and Redis expires exactly.
        expect(await f.repo.lines('alice')).to.deep.equal([]);
      });
    });
  });
}
