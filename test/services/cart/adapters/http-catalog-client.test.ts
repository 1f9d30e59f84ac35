import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import type { RequestListener } from 'node:http';
import { buildService } from '@meshmart/kit';
import type { CartRepository } from '../../../../services/cart/src/adapters/cart-repository.ts';
import { definition } from '../../../../services/cart/src/service.ts';
import { testKit } from '../../../support/stores.ts';

const PROBLEM = /^application\/problem\+json/;

const LAMP = {
  id: 'lamp',
  name: 'Desk Lamp',
  description: 'A lamp',
  category: 'home',
  priceCents: 2499,
  currency: 'USD',
  image: '/images/lamp.webp',
};

/** A tiny stand-in for the catalog service: GET /prices?ids= as catalog answers it (`requests` counts them). */
function fakeCatalog(requests: string[]): express.Express {
  const app = express();
  app.get('/prices', (req, res) => {
    requests.push(req.query.ids as string);
    const ids = (req.query.ids as string).split(',');
    const items = ids.flatMap((id) =>
      id === 'lamp' ? [LAMP] : id === 'broken' ? [{ id: 'broken', name: 'Broken' }] : [],
    );
    res.json({ items, missing: ids.filter((id) => id !== 'lamp' && id !== 'broken') });
  });
  return app;
}

function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

describe('cart with the HTTP catalog client against a real HTTP server', function () {
  let server: Server;
  let close: () => Promise<void>;
  let app: RequestListener;
  let carts: CartRepository;
  let requests: string[];

  beforeEach(async function () {
    requests = [];
    server = await listen(fakeCatalog(requests));
    const { port } = server.address() as AddressInfo;
    // The cart as service.ts builds it: its HTTP catalog client pointed at the stand-in by CATALOG_URL.
    const cart = await buildService(definition, {
      env: {
        CATALOG_URL: `http://127.0.0.1:${port}`,
        CATALOG_TIMEOUT_MS: '1000',
        MAX_QUANTITY_PER_ITEM: '10',
      },
      logger: testKit('cart').logger,
    });
    app = cart.app;
    carts = cart.parts.carts;
    close = () => cart.close();
  });
  afterEach(async function () {
    await close();
    if (server.listening) await closeServer(server);
  });

  it('when the catalog answers the product, then the cart line carries its name, image and price', async function () {
    const res = await request(app).put('/carts/alice/items/lamp').send({ quantity: 2 }).expect(200);
    expect(res.body.items).to.deep.equal([
      {
        productId: 'lamp',
        name: 'Desk Lamp',
        image: '/images/lamp.webp',
        unitPriceCents: 2499,
        quantity: 2,
        lineTotalCents: 4998,
      },
    ]);
  });

  it('when the catalog answers 404, then the cart answers 404 product-not-found and stores nothing', async function () {
    const res = await request(app)
      .put('/carts/alice/items/ghost')
      .send({ quantity: 1 })
      .expect(404)
      .expect('content-type', PROBLEM);
    expect(res.body.type).to.equal('/problems/product-not-found');
    expect(await carts.lines('alice')).to.deep.equal([]);
  });

  it('when the catalog answers a product without a price, then 502 catalog-invalid-response and nothing is stored', async function () {
    const res = await request(app)
      .put('/carts/alice/items/broken')
      .send({ quantity: 1 })
      .expect(502)
      .expect('content-type', PROBLEM);
    expect(res.body.type).to.equal('/problems/catalog-invalid-response');
    expect(await carts.lines('alice')).to.deep.equal([]);
  });

  it('when the catalog is down, then the cart answers 503 catalog-unavailable and the cart is unchanged', async function () {
    await request(app).put('/carts/alice/items/lamp').send({ quantity: 1 }).expect(200);
    await closeServer(server);
    const res = await request(app)
      .put('/carts/alice/items/lamp')
      .send({ quantity: 5 })
      .expect(503)
      .expect('content-type', PROBLEM);
    expect(res.body.type).to.equal('/problems/catalog-unavailable');
    expect((await carts.lines('alice')).map((l) => l.quantity)).to.deep.equal([1]);
    // A cart is shown (and bought) at today's prices: without the catalog it is a 503, never a stale price.
    const read = await request(app).get('/carts/alice').expect(503).expect('content-type', PROBLEM);
    expect(read.body.type).to.equal('/problems/catalog-unavailable');
    expect(read.headers['retry-after']).to.equal('1');
  });

  it('when a cart is read, then its lines are priced in one request naming every product', async function () {
    await carts.putLine(
      'alice',
      {
        productId: 'ghost',
        name: 'Ghost',
        image: '/images/g.svg',
        unitPriceCents: 5,
        quantity: 1,
        addedAt: '2020-01-01T00:00:00Z',
      },
      50,
    );
    await request(app).put('/carts/alice/items/lamp').send({ quantity: 1 }).expect(200);
    requests.length = 0;
    const res = await request(app).get('/carts/alice').expect(200);
    expect(requests).to.deep.equal(['ghost,lamp']);
    expect(
      res.body.items.map((i: { productId: string; unavailable?: boolean }) => [i.productId, i.unavailable]),
    ).to.deep.equal([
      ['ghost', true],
      ['lamp', undefined],
    ]);
  });
});
