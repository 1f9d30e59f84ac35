import { expect } from 'chai';
import { outboxEntry, type OutboxEntry } from '@meshmart/kit/events';
import type { ProductRepository } from '../../../../services/catalog/src/adapters/product-repository.ts';
import {
  normalizeQuery,
  type Product,
  type ProductQuery,
} from '../../../../services/catalog/src/domain/product.ts';

export interface RepositoryHarness {
  readonly products: ProductRepository;
  /** A second repository on the same data (another replica); the twin has none. */
  readonly replica?: ProductRepository;
  close(): Promise<void>;
}

const product = (id: string, name: string, over: Partial<Product> = {}): Product => ({
  id,
  name,
  description: `${name}, described`,
  category: 'home',
  priceCents: 1000,
  currency: 'USD',
  image: `/images/${id}.svg`,
  ...over,
});

export const FIXTURES: readonly Product[] = [
  product('d1', 'Delta Tent', { category: 'outdoor', description: 'Sleeps 2.5 people', priceCents: 27900 }),
  product('b1', 'Beta Kettle', { category: 'kitchen', description: 'Boils water (fast)', priceCents: 3500 }),
  product('g2', 'Gamma Mug', { category: 'kitchen' }),
  product('a1', 'Alpha Lamp', { description: 'A warm LIGHT for reading' }),
  product('g1', 'Gamma Mug', { category: 'kitchen' }),
  product('e1', 'Epsilon Rug', { description: 'Wool, 215 cm long' }),
];

const q = (raw: Parameters<typeof normalizeQuery>[0]): ProductQuery => normalizeQuery(raw);

const event = (p: Product): OutboxEntry =>
  outboxEntry(
    'catalog.events',
    {
      type: 'ProductUpdated',
      data: { productId: p.id, name: p.name, priceCents: p.priceCents, category: p.category },
    },
    'catalog',
  );

/** What every ProductRepository must do, run against the in-memory twin and MongoDB (FerretDB). */
export function productRepositoryContract(name: string, make: () => Promise<RepositoryHarness>): void {
  describe(`ProductRepository contract: ${name}`, function () {
    let h: RepositoryHarness;
    beforeEach(async function () {
      h = await make();
    });
    afterEach(async function () {
      await h.close();
    });

    describe('seeding', function () {
      it('when the store is seeded, then every product is there and the count says so', async function () {
        expect(await h.products.seed(FIXTURES)).to.equal(FIXTURES.length);
        expect(await h.products.count()).to.equal(FIXTURES.length);
        expect(await h.products.findById('b1')).to.deep.equal(FIXTURES[1]);
      });

      it('when seeding runs twice, also at once from two replicas, then no product is duplicated', async function () {
        const other = h.replica ?? h.products;
        const [first, second] = await Promise.all([h.products.seed(FIXTURES), other.seed(FIXTURES)]);
        expect(first + second).to.equal(FIXTURES.length);
        expect(await h.products.seed(FIXTURES)).to.equal(0);
        expect(await h.products.count()).to.equal(FIXTURES.length);
      });

      it('when a product was changed, then seeding again keeps the change', async function () {
        await h.products.seed(FIXTURES);
        await h.products.update('a1', { priceCents: 1 }, () => []);
        await h.products.seed(FIXTURES);
        expect((await h.products.findById('a1'))?.priceCents).to.equal(1);
      });
    });

    describe('reading', function () {
      beforeEach(async function () {
        await h.products.seed(FIXTURES);
      });

      it('when an id is unknown, then findById gives undefined', async function () {
        expect(await h.products.findById('nope')).to.equal(undefined);
      });

      it('when several ids are read at once, then the known products come back and the unknown ones are left out', async function () {
        const found = await h.products.findByIds(['g1', 'nope', 'a1']);
        expect(found.map((p) => p.id).sort()).to.deep.equal(['a1', 'g1']);
        expect(found.find((p) => p.id === 'a1')).to.deep.equal(FIXTURES.find((p) => p.id === 'a1'));
        expect(await h.products.findByIds([])).to.deep.equal([]);
      });

      it('when listing, then products come sorted by name then id, with the total and only public fields', async function () {
        const { items, total } = await h.products.list(q({}));
        expect(total).to.equal(6);
        expect(items.map((p) => p.id)).to.deep.equal(['a1', 'b1', 'd1', 'e1', 'g1', 'g2']);
        expect(Object.keys(items[0]).sort()).to.deep.equal(
          ['category', 'currency', 'description', 'id', 'image', 'name', 'priceCents'].sort(),
        );
      });

      it('when paging, then pages do not overlap, cover everything and keep the total', async function () {
        const seen: string[] = [];
        for (let page = 1; page <= 3; page++) {
          const { items, total } = await h.products.list(q({ page, limit: 2 }));
          expect(total).to.equal(6);
          expect(items).to.have.length(2);
          seen.push(...items.map((p) => p.id));
        }
        expect(seen).to.deep.equal(['a1', 'b1', 'd1', 'e1', 'g1', 'g2']);
        const beyond = await h.products.list(q({ page: 4, limit: 2 }));
        expect(beyond).to.deep.equal({ items: [], total: 6 });
      });

      it('when filtering by category, then only that category is listed and counted', async function () {
        const { items, total } = await h.products.list(q({ category: 'kitchen', limit: 2 }));
        expect(total).to.equal(3);
        expect(items.map((p) => p.id)).to.deep.equal(['b1', 'g1']);
        expect(await h.products.list(q({ category: 'garden' }))).to.deep.equal({ items: [], total: 0 });
      });

      it('when searching, then name, description and category match case-insensitively', async function () {
        const ids = async (text: string, category?: string) =>
          (await h.products.list(q({ q: text, category }))).items.map((p) => p.id);
        expect(await ids('KETTLE')).to.deep.equal(['b1']);
        expect(await ids('light')).to.deep.equal(['a1']);
        expect(await ids('OUTDO')).to.deep.equal(['d1']);
        expect(await ids('gamma', 'kitchen')).to.deep.equal(['g1', 'g2']);
        expect(await ids('gamma', 'home')).to.deep.equal([]);
      });

      it('when the search text has regex characters, then they match literally', async function () {
        const ids = async (text: string) => (await h.products.list(q({ q: text }))).items.map((p) => p.id);
        expect(await ids('(fast)')).to.deep.equal(['b1']);
        expect(await ids('2.5')).to.deep.equal(['d1']);
        expect(await ids('.*')).to.deep.equal([]);
        expect(await ids('[')).to.deep.equal([]);
        expect(await ids('\\')).to.deep.equal([]);
      });

      it('when counting by category, then each category has its number of products', async function () {
        const counts = await h.products.countByCategory();
        expect(Object.fromEntries(counts)).to.deep.equal({ home: 2, kitchen: 3, outdoor: 1 });
      });
    });

    describe('updating', function () {
      beforeEach(async function () {
        await h.products.seed(FIXTURES);
      });

      it('when a product is updated, then the change and its event are stored together', async function () {
        let seen: Product | undefined;
        const updated = await h.products.update(
          'b1',
          { priceCents: 4200, name: 'Beta Kettle Pro' },
          (after) => {
            seen = after;
            return [event(after)];
          },
        );
        const expected = { ...FIXTURES[1], priceCents: 4200, name: 'Beta Kettle Pro' };
        expect(updated).to.deep.equal(expected);
        expect(seen).to.deep.equal(expected);
        expect(await h.products.findById('b1')).to.deep.equal(expected);
        const pending = await h.products.outbox.pending(10);
        expect(pending).to.have.length(1);
        expect(pending[0].key).to.deep.equal({ collection: 'products', id: 'b1' });
        expect(pending[0].envelope.data).to.deep.include({ productId: 'b1', priceCents: 4200 });
      });

      it('when events are marked sent while the product is updated, then neither write is lost', async function () {
        await h.products.update('e1', { priceCents: 1 }, (after) => [event(after)]);
        const first = await h.products.outbox.pending(10);
        await Promise.all([
          h.products.outbox.markSent(first),
          h.products.update('e1', { priceCents: 2 }, (after) => [event(after)]),
        ]);
        expect((await h.products.findById('e1'))?.priceCents).to.equal(2);
        const left = await h.products.outbox.pending(10);
        expect(left.map((p) => p.envelope.data)).to.deep.equal([
          { productId: 'e1', name: 'Epsilon Rug', priceCents: 2, category: 'home' },
        ]);
      });

      it('when the outbox is marked sent, then it empties and the product is untouched', async function () {
        await h.products.update('a1', { priceCents: 5 }, (after) => [event(after)]);
        await h.products.outbox.markSent(await h.products.outbox.pending(10));
        expect(await h.products.outbox.pending(10)).to.deep.equal([]);
        expect((await h.products.findById('a1'))?.priceCents).to.equal(5);
      });

      it('when the id is unknown, then nothing is written and no event is made', async function () {
        let called = false;
        const result = await h.products.update('nope', { priceCents: 1 }, (after) => {
          called = true;
          return [event(after)];
        });
        expect(result).to.equal(undefined);
        expect(called).to.equal(false);
        expect(await h.products.outbox.pending(10)).to.deep.equal([]);
        expect(await h.products.count()).to.equal(FIXTURES.length);
      });

      // Through one replica: FerretDB 1.x cannot isolate conditional updates across clients (see the adapter).
      it('when two updates run at once, then both changes stay and each event describes what it wrote', async function () {
        await Promise.all([
          h.products.update('g1', { priceCents: 777 }, (after) => [event(after)]),
          h.products.update('g1', { name: 'Gamma Cup' }, (after) => [event(after)]),
        ]);
        expect(await h.products.findById('g1')).to.deep.include({ priceCents: 777, name: 'Gamma Cup' });
        const datas = (await h.products.outbox.pending(10)).map((p) => p.envelope.data);
        expect(datas).to.have.length(2);
        // Whichever ran second saw the first one's change.
        expect(datas).to.deep.include({
          productId: 'g1',
          name: 'Gamma Cup',
          priceCents: 777,
          category: 'kitchen',
        });
      });
    });
  });
}
