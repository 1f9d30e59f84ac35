import { expect } from 'chai';
import request from 'supertest';
import { events } from '@meshmart/contracts';
import type { EventEnvelope, Subscription } from '@meshmart/kit/events';
import type { Product } from '../../../services/catalog/src/domain/product.ts';
import { eachBackend, eventually, type Backend } from '../../support/stores.ts';
import { catalogHarness, type CatalogHarness } from './catalog-harness.ts';
import { ADMIN_HEADERS } from '../../support/admin.ts';

const PROBLEM = /^application\/problem\+json/;
const PRODUCT_KEYS = ['category', 'currency', 'description', 'id', 'image', 'name', 'priceCents'];

/** The value of one series in a Prometheus text exposition (0 when absent). */
function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

const byNameThenId = (a: Product, b: Product) =>
  a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * Sets `h` for the enclosing suite: one harness for suites that only read (`all`), a fresh one per test for those
 * that write or count (`each`).
 */
function useHarness(backend: Backend, scope: 'all' | 'each', set: (h: CatalogHarness) => void): void {
  let current: CatalogHarness | undefined;
  const open = async () => {
    current = await catalogHarness(backend);
    set(current);
  };
  const close = async () => {
    await current?.close();
    current = undefined;
  };
  if (scope === 'all') {
    before(open);
    after(close);
  } else {
    beforeEach(open);
    afterEach(close);
  }
}

eachBackend('catalog API', (backend) => {
  let h: CatalogHarness;
  const set = (harness: CatalogHarness) => (h = harness);

  describe('GET /products', function () {
    useHarness(backend, 'all', set);

    it('when called without parameters, then the first 20 products by name come with the total', async function () {
      const res = await request(h.app).get('/products').expect(200).expect('content-type', /json/);
      expect(res.body.page).to.equal(1);
      expect(res.body.limit).to.equal(20);
      expect(res.body.total).to.equal(h.seed.products.length);
      const expected = [...h.seed.products].sort(byNameThenId).slice(0, 20);
      expect(res.body.items).to.deep.equal(expected);
      expect(Object.keys(res.body.items[0]).sort()).to.deep.equal(PRODUCT_KEYS);
    });

    it('when paging through, then every product appears exactly once and the total stays', async function () {
      const ids: string[] = [];
      for (let page = 1; page <= 5; page++) {
        const res = await request(h.app).get(`/products?page=${page}&limit=10`).expect(200);
        expect(res.body.total).to.equal(h.seed.products.length);
        ids.push(...res.body.items.map((p: Product) => p.id));
      }
      expect(ids).to.have.length(h.seed.products.length);
      expect(new Set(ids).size).to.equal(h.seed.products.length);
    });

    it('when the page is past the end, then items are empty and the total is still given', async function () {
      const res = await request(h.app).get('/products?page=99&limit=100').expect(200);
      expect(res.body).to.deep.equal({ items: [], page: 99, limit: 100, total: h.seed.products.length });
    });

    it('when filtered by category, then only that category comes back', async function () {
      const res = await request(h.app).get('/products?category=kitchen&limit=100').expect(200);
      const kitchen = h.seed.products.filter((p) => p.category === 'kitchen');
      expect(res.body.total).to.equal(kitchen.length);
      expect(res.body.items.map((p: Product) => p.category)).to.deep.equal(kitchen.map(() => 'kitchen'));
    });

    it('when the category is unknown, then the answer is an empty page, not an error', async function () {
      const res = await request(h.app).get('/products?category=no-such-thing').expect(200);
      expect(res.body).to.deep.equal({ items: [], page: 1, limit: 20, total: 0 });
    });

    it('when searching, then the text matches name, description or category in any case', async function () {
      const knife = await request(h.app).get('/products?q=KNIFE').expect(200);
      expect(knife.body.items.map((p: Product) => p.id)).to.include('chef-knife-8in');
      const byDescription = await request(h.app).get('/products?q=pakkawood').expect(200);
      expect(byDescription.body.items.map((p: Product) => p.id)).to.deep.equal(['chef-knife-8in']);
      const byCategory = await request(h.app).get('/products?q=Electronics&limit=100').expect(200);
      expect(byCategory.body.total).to.be.at.least(8);
      const both = await request(h.app).get('/products?q=wool&category=apparel').expect(200);
      expect(both.body.items.length).to.be.greaterThan(0);
      for (const p of both.body.items as Product[]) expect(p.category).to.equal('apparel');
    });

    it('when the search text holds regex syntax, then it is matched literally', async function () {
      for (const q of ['.*', '(', '[a-z]+', '\\', '$where']) {
        const res = await request(h.app).get('/products').query({ q }).expect(200);
        expect(res.body.total, q).to.equal(0);
      }
    });

    it('when q and category are empty, then they are ignored', async function () {
      const res = await request(h.app).get('/products?q=&category=').expect(200);
      expect(res.body.total).to.equal(h.seed.products.length);
    });

    for (const [what, qs, field] of [
      ['page=0', 'page=0', 'query/page'],
      ['limit=1000', 'limit=1000', 'query/limit'],
      ['limit=0', 'limit=0', 'query/limit'],
      ['limit=abc', 'limit=abc', 'query/limit'],
      ['page=1.5', 'page=1.5', 'query/page'],
      ['page=-1', 'page=-1', 'query/page'],
      ['a huge page', 'page=1e30', 'query/page'],
      ['q repeated', 'q=a&q=b', 'query/q'],
      ['a long q', `q=${'x'.repeat(101)}`, 'query/q'],
    ] as const) {
      it(`when ${what}, then the answer is 400 problem+json naming ${field}`, async function () {
        const res = await request(h.app).get(`/products?${qs}`).expect(400).expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/validation-failed');
        expect(res.body.errors.map((e: { field: string }) => e.field)).to.include(field);
      });
    }
  });

  describe('GET /products/:id', function () {
    useHarness(backend, 'all', set);
    it('when the product exists, then it is returned with its image path', async function () {
      const res = await request(h.app).get('/products/chef-knife-8in').expect(200);
      expect(res.body).to.deep.equal(h.seed.products.find((p) => p.id === 'chef-knife-8in'));
      expect(res.body.image).to.equal('/images/chef-knife-8in.svg');
    });

    it('when the id is unknown, then the answer is 404 problem+json', async function () {
      const res = await request(h.app)
        .get('/products/no-such-product')
        .expect(404)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/not-found');
      expect(res.body.detail).to.contain('no-such-product');
    });

    it('when the id is malformed, then the answer is 400 problem+json', async function () {
      await request(h.app).get('/products/bad%20id').expect(400).expect('content-type', PROBLEM);
      await request(h.app)
        .get(`/products/${'x'.repeat(200)}`)
        .expect(400)
        .expect('content-type', PROBLEM);
    });
  });

  describe('GET /prices', function () {
    useHarness(backend, 'all', set);
    it('when several ids are asked, then each known product comes with its current price and the unknown are listed', async function () {
      const res = await request(h.app).get('/prices?ids=chef-knife-8in,no-such,chef-knife-8in').expect(200);
      expect(res.body.items).to.deep.equal([h.seed.products.find((p) => p.id === 'chef-knife-8in')]);
      expect(res.body.missing).to.deep.equal(['no-such']);
    });

    it('when the ids are malformed or too many, then 400 problem+json', async function () {
      for (const ids of ['', 'a,,b', 'bad%20id', Array.from({ length: 101 }, (_, i) => `p${i}`).join(',')]) {
        const res = await request(h.app).get(`/prices?ids=${ids}`);
        expect(res.status, ids).to.equal(400);
        expect(res.headers['content-type'], ids).to.match(PROBLEM);
      }
      await request(h.app).get('/prices').expect(400);
    });
  });

  describe('GET /categories', function () {
    useHarness(backend, 'all', set);
    it('when called, then every category comes with its product count', async function () {
      const res = await request(h.app).get('/categories').expect(200);
      expect(res.body.items.map((c: { id: string }) => c.id)).to.deep.equal(
        h.seed.categories.map((c) => c.id),
      );
      const total = (res.body.items as { count: number }[]).reduce((n, c) => n + c.count, 0);
      expect(total).to.equal(h.seed.products.length);
      expect(res.body.items[0]).to.deep.equal({
        id: 'kitchen',
        name: 'Kitchen',
        count: h.seed.products.filter((p) => p.category === 'kitchen').length,
      });
    });
  });

  describe('PUT /admin/products/:id', function () {
    useHarness(backend, 'each', set);
    it('when a price changes after reads were cached, then the next reads see the new price', async function () {
      // Warm every cache entry the change must invalidate: the product, a list page, a search page.
      await request(h.app).get('/products/chef-knife-8in').expect(200);
      await request(h.app).get('/products/chef-knife-8in').expect(200);
      await request(h.app).get('/products?category=kitchen').expect(200);
      await request(h.app).get('/products?q=knife').expect(200);
      const res = await request(h.app)
        .put('/admin/products/chef-knife-8in')
        .set(ADMIN_HEADERS)
        .send({ priceCents: 7777 })
        .expect(200);
      expect(res.body).to.include({ id: 'chef-knife-8in', priceCents: 7777, name: "Chef's Knife, 8-inch" });
      expect((await request(h.app).get('/products/chef-knife-8in').expect(200)).body.priceCents).to.equal(
        7777,
      );
      const list = await request(h.app).get('/products?category=kitchen').expect(200);
      expect(list.body.items.find((p: Product) => p.id === 'chef-knife-8in').priceCents).to.equal(7777);
      const search = await request(h.app).get('/products?q=knife').expect(200);
      expect(search.body.items.find((p: Product) => p.id === 'chef-knife-8in').priceCents).to.equal(7777);
    });

    it('when a price changes after /prices was cached, then the next /prices gives the new price', async function () {
      await request(h.app).get('/prices?ids=chef-knife-8in').expect(200);
      await request(h.app).get('/prices?ids=chef-knife-8in').expect(200);
      await request(h.app)
        .put('/admin/products/chef-knife-8in')
        .set(ADMIN_HEADERS)
        .send({ priceCents: 100000 })
        .expect(200);
      const res = await request(h.app).get('/prices?ids=chef-knife-8in').expect(200);
      expect(res.body.items[0].priceCents).to.equal(100000);
    });

    it('when the category changes, then the category counts and filters follow', async function () {
      await request(h.app).get('/categories').expect(200);
      await request(h.app).get('/products?category=home&limit=100').expect(200);
      await request(h.app)
        .put('/admin/products/chef-knife-8in')
        .set(ADMIN_HEADERS)
        .send({ category: 'home' })
        .expect(200);
      const cats = await request(h.app).get('/categories').expect(200);
      const count = (id: string) => cats.body.items.find((c: { id: string }) => c.id === id).count;
      expect(count('kitchen')).to.equal(7);
      expect(count('home')).to.equal(9);
      const home = await request(h.app).get('/products?category=home&limit=100').expect(200);
      expect(home.body.items.map((p: Product) => p.id)).to.include('chef-knife-8in');
    });

    it('when a product changes, then ProductUpdated reaches the bus, valid against its contract', async function () {
      const received: EventEnvelope[] = [];
      const sub: Subscription = await h.bus.subscribe({
        topic: 'catalog.events',
        group: 'catalog-test',
        handler: (event) => {
          received.push(event);
        },
      });
      try {
        await request(h.app)
          .put('/admin/products/e-reader')
          .set(ADMIN_HEADERS)
          .set('X-Actor', 'admin')
          .send({ name: 'E-Reader Pro', priceCents: 14999 })
          .expect(200);
        await eventually(() => received.length > 0, 'ProductUpdated on the bus');
        const [event] = received;
        expect(event.type).to.equal('ProductUpdated');
        expect(event.topic).to.equal('catalog.events');
        expect(event.data).to.deep.equal({
          productId: 'e-reader',
          name: 'E-Reader Pro',
          priceCents: 14999,
          category: 'electronics',
          actor: 'admin',
        });
        expect(events.problem('catalog.events', event)).to.equal(undefined);
        await eventually(
          async () => (await h.products.outbox.pending(10)).length === 0,
          'the outbox to empty',
        );
      } finally {
        await sub.close();
      }
    });

    describe('when the request is bad, then it is refused with problem+json and nothing changes', function () {
      let before: Product | undefined;
      beforeEach(async function () {
        before = await h.products.findById('chef-knife-8in');
      });
      afterEach(async function () {
        expect(await h.products.findById('chef-knife-8in')).to.deep.equal(before);
        expect(await h.products.outbox.pending(10)).to.deep.equal([]);
        expect((await request(h.app).get('/products/chef-knife-8in').expect(200)).body).to.deep.equal(before);
      });

      const put = () => request(h.app).put('/admin/products/chef-knife-8in').set(ADMIN_HEADERS);
      for (const [what, body, field] of [
        ['a negative price', { priceCents: -1 }, 'body/priceCents'],
        ['a fractional price', { priceCents: 10.5 }, 'body/priceCents'],
        ['a price as a string', { priceCents: '100' }, 'body/priceCents'],
        ['a huge price', { priceCents: 1e15 }, 'body/priceCents'],
        ['a name that is a number', { name: 42 }, 'body/name'],
        ['an empty name', { name: '' }, 'body/name'],
        ['an unknown field', { priceCents: 100, stock: 3 }, 'body/stock'],
        ['an empty body', {}, 'body'],
      ] as const) {
        it(`when it has ${what}, then 400`, async function () {
          const res = await put().send(body).expect(400).expect('content-type', PROBLEM);
          expect(res.body.errors.map((e: { field: string }) => e.field)).to.include(field);
        });
      }

      it('when the name is blank, then 400', async function () {
        await put().send({ name: '   ' }).expect(400).expect('content-type', PROBLEM);
      });

      it('when the body is malformed JSON, then 400 invalid-json', async function () {
        const res = await put()
          .set('content-type', 'application/json')
          .send('{"priceCents": ')
          .expect(400)
          .expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/invalid-json');
      });

      it('when the body is an array, then 400', async function () {
        await put()
          .set('content-type', 'application/json')
          .send('[1]')
          .expect(400)
          .expect('content-type', PROBLEM);
      });

      it('when the body is not JSON, then 415', async function () {
        await put()
          .set('content-type', 'text/plain')
          .send('priceCents=1')
          .expect(415)
          .expect('content-type', PROBLEM);
      });

      it('when the body is over the limit, then 413', async function () {
        const res = await put()
          .send({ description: 'x'.repeat(200_000) })
          .expect(413)
          .expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/body-too-large');
      });

      it('when the category is unknown, then 422 naming the known ones', async function () {
        const res = await put().send({ category: 'garden' }).expect(422).expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/unknown-category');
        expect(res.body.categories).to.include('kitchen');
      });

      it('when the actor header is malformed, then 400', async function () {
        await put()
          .set('X-Actor', 'a b c')
          .send({ priceCents: 1 })
          .expect(400)
          .expect('content-type', PROBLEM);
      });

      it('when the product id is unknown, then 404', async function () {
        const res = await request(h.app)
          .put('/admin/products/no-such-product')
          .set(ADMIN_HEADERS)
          .send({ priceCents: 100 })
          .expect(404)
          .expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/not-found');
        expect(await h.products.count()).to.equal(h.seed.products.length);
      });
    });
  });

  describe('GET /metrics', function () {
    useHarness(backend, 'each', set);
    it('when a product and a search are read twice, then one miss and one hit each are counted', async function () {
      await request(h.app).get('/products/bluetooth-speaker').expect(200);
      await request(h.app).get('/products/bluetooth-speaker').expect(200);
      await request(h.app).get('/products?q=speaker').expect(200);
      // The same query in other case and spacing is the same cache entry.
      await request(h.app).get('/products?q=%20SPEAKER%20').expect(200);
      const text = (await request(h.app).get('/metrics').expect(200)).text;
      const name = 'catalog_cache_requests_total';
      expect(metricValue(text, name, { kind: 'product', result: 'miss' })).to.equal(1);
      expect(metricValue(text, name, { kind: 'product', result: 'hit' })).to.equal(1);
      expect(metricValue(text, name, { kind: 'list', result: 'miss' })).to.equal(1);
      expect(metricValue(text, name, { kind: 'list', result: 'hit' })).to.equal(1);
      expect(metricValue(text, name, { kind: 'product', result: 'error' })).to.equal(0);
    });
  });

  describe('GET /openapi.json', function () {
    useHarness(backend, 'all', set);
    it('when fetched, then every route is documented with its operation id', async function () {
      const res = await request(h.app).get('/openapi.json').expect(200);
      const ids = Object.values(res.body.paths as Record<string, Record<string, { operationId: string }>>)
        .flatMap((ops) => Object.values(ops))
        .map((op) => op.operationId);
      expect(ids).to.have.members([
        'listProducts',
        'getProduct',
        'getPrices',
        'listCategories',
        'updateProduct',
        'getImage',
      ]);
    });
  });
});

describe('catalog API when Redis goes away [real]', function () {
  let h: CatalogHarness;
  beforeEach(async function () {
    h = await catalogHarness('real');
  });
  afterEach(async function () {
    await h.close();
  });

  it('when the cache connection drops after entries were cached, then reads still answer 200 from the store', async function () {
    await request(h.app).get('/products/wool-beanie').expect(200);
    await request(h.app).get('/products?category=apparel').expect(200);
    h.cutCache();
    const one = await request(h.app).get('/products/wool-beanie').expect(200);
    expect(one.body.id).to.equal('wool-beanie');
    const list = await request(h.app).get('/products?category=apparel').expect(200);
    expect(list.body.total).to.equal(8);
    await request(h.app)
      .put('/admin/products/wool-beanie')
      .set(ADMIN_HEADERS)
      .send({ priceCents: 2600 })
      .expect(200);
    expect((await request(h.app).get('/products/wool-beanie').expect(200)).body.priceCents).to.equal(2600);
    const text = (await request(h.app).get('/metrics').expect(200)).text;
    expect(metricValue(text, 'catalog_cache_requests_total', { kind: 'product', result: 'error' })).to.equal(
      2,
    );
  });
});

eachBackend('catalog API with the cache broken', (backend) => {
  let h: CatalogHarness;
  beforeEach(async function () {
    h = await catalogHarness(backend, { cache: 'broken' });
  });
  afterEach(async function () {
    await h.close();
  });

  it('when the cache fails, then reads still answer from the store and the errors are counted', async function () {
    await request(h.app).get('/products/chef-knife-8in').expect(200);
    const list = await request(h.app).get('/products?category=toys').expect(200);
    expect(list.body.total).to.equal(8);
    await request(h.app).get('/categories').expect(200);
    const text = (await request(h.app).get('/metrics').expect(200)).text;
    expect(metricValue(text, 'catalog_cache_requests_total', { kind: 'product', result: 'error' })).to.equal(
      1,
    );
    expect(metricValue(text, 'catalog_cache_requests_total', { kind: 'list', result: 'error' })).to.equal(1);
    expect(metricValue(text, 'catalog_cache_errors_total', { operation: 'lookup' })).to.equal(3);
    // Counted every time, logged once in a while.
    expect(h.logs.filter((l) => l.msg === 'cache lookup failed; reading the store')).to.have.length(1);
  });

  it('when the cache fails, then an admin update still succeeds and is read back', async function () {
    await request(h.app)
      .put('/admin/products/plush-bear')
      .set(ADMIN_HEADERS)
      .send({ priceCents: 2500 })
      .expect(200);
    expect((await request(h.app).get('/products/plush-bear').expect(200)).body.priceCents).to.equal(2500);
    const text = (await request(h.app).get('/metrics').expect(200)).text;
    expect(metricValue(text, 'catalog_cache_errors_total', { operation: 'invalidate' })).to.equal(1);
  });
});
