import { expect } from 'chai';
import request from 'supertest';
import { eachBackend } from '../../support/stores.ts';
import { cartHarness, type CartHarness } from './harness.ts';

const PROBLEM = /^application\/problem\+json/;

eachBackend('cart API', (backend) => {
  let h: CartHarness;
  beforeEach(async function () {
    h = await cartHarness(backend, { maxLines: 3, bodyLimitBytes: 1024 });
  });
  afterEach(async function () {
    await h.close();
  });

  const put = (productId: string, body: unknown, userId = 'alice') =>
    request(h.app)
      .put(`/carts/${userId}/items/${productId}`)
      .send(body as object);
  const cart = async (userId = 'alice') => (await request(h.app).get(`/carts/${userId}`).expect(200)).body;

  it('when a user has no cart, then an empty cart is answered', async function () {
    expect(await cart('nobody')).to.deep.equal({
      userId: 'nobody',
      items: [],
      totalCents: 0,
      currency: 'USD',
      itemCount: 0,
    });
  });

  it('when items are put, then they are priced from the catalog with line and cart totals', async function () {
    await put('lamp', { quantity: 2 }).expect(200);
    const res = await put('mug', { quantity: 3 }).expect(200);
    expect(res.body).to.deep.equal({
      userId: 'alice',
      items: [
        {
          productId: 'lamp',
          name: 'Desk Lamp',
          image: '/images/lamp.webp',
          unitPriceCents: 2499,
          quantity: 2,
          lineTotalCents: 4998,
        },
        {
          productId: 'mug',
          name: 'Mug',
          image: '/images/mug.webp',
          unitPriceCents: 850,
          quantity: 3,
          lineTotalCents: 2550,
        },
      ],
      totalCents: 7548,
      currency: 'USD',
      itemCount: 5,
    });
    expect(await cart()).to.deep.equal(res.body);
    expect((await cart('bob')).items).to.deep.equal([]);
  });

  it('when an item is put again, then its quantity is set (not added) and its place kept', async function () {
    await put('lamp', { quantity: 2 }).expect(200);
    await put('mug', { quantity: 1 }).expect(200);
    const res = await put('lamp', { quantity: 7 }).expect(200);
    expect(
      res.body.items.map((i: { productId: string; quantity: number }) => `${i.productId}:${i.quantity}`),
    ).to.deep.equal(['lamp:7', 'mug:1']);
  });

  it('when the catalog price changes, then the cart shows (and a checkout reads) the new price at once, with the price when added', async function () {
    await put('lamp', { quantity: 2 }).expect(200);
    await put('mug', { quantity: 1 }).expect(200);
    h.catalog.set({
      id: 'lamp',
      name: 'Desk Lamp',
      image: '/images/lamp.webp',
      priceCents: 100000,
      currency: 'USD',
    });
    const changed = await cart();
    expect(changed.items[0]).to.deep.include({
      productId: 'lamp',
      unitPriceCents: 100000,
      lineTotalCents: 200000,
      priceWhenAddedCents: 2499,
    });
    expect(changed.items[1]).to.not.have.property('priceWhenAddedCents');
    expect(changed.totalCents).to.equal(200850);
    // Putting the line again takes today's price as its own: the notice goes.
    const again = await put('lamp', { quantity: 2 }).expect(200);
    expect(again.body.items[0].unitPriceCents).to.equal(100000);
    expect(again.body.items[0]).to.not.have.property('priceWhenAddedCents');
  });

  it('when a cart of three lines is read or changed, then the catalog is asked once per request, never once per line', async function () {
    await put('lamp', { quantity: 1 }).expect(200);
    await put('mug', { quantity: 1 }).expect(200);
    h.catalog.set({ id: 'pen', name: 'Pen', image: '/images/pen.webp', priceCents: 150, currency: 'USD' });
    await put('pen', { quantity: 1 }).expect(200);
    h.catalog.calls = 0;
    await cart();
    expect(h.catalog.calls).to.equal(1);
    await put('mug', { quantity: 2 }).expect(200);
    expect(h.catalog.calls).to.equal(2);
    await request(h.app).delete('/carts/alice/items/pen').expect(200);
    expect(h.catalog.calls).to.equal(3);
    await cart('nobody');
    expect(h.catalog.calls).to.equal(3);
  });

  it('when the catalog no longer has a product of the cart, then its line is marked unavailable at its last price', async function () {
    h.catalog.set({ id: 'gone', name: 'Gone', image: '/images/gone.webp', priceCents: 300, currency: 'USD' });
    await put('gone', { quantity: 1 }).expect(200);
    h.catalog.delete('gone');
    const res = await cart();
    expect(res.items[0]).to.deep.include({ productId: 'gone', unitPriceCents: 300, unavailable: true });
  });

  it('when two items of one cart are put concurrently, then both survive', async function () {
    await Promise.all([put('lamp', { quantity: 1 }).expect(200), put('mug', { quantity: 2 }).expect(200)]);
    expect((await cart()).itemCount).to.equal(3);
  });

  it('when an item is removed, then the cart is answered without it; removing it again changes nothing', async function () {
    await put('lamp', { quantity: 1 }).expect(200);
    await put('mug', { quantity: 1 }).expect(200);
    const res = await request(h.app).delete('/carts/alice/items/lamp').expect(200);
    expect(res.body.items.map((i: { productId: string }) => i.productId)).to.deep.equal(['mug']);
    await request(h.app).delete('/carts/alice/items/lamp').expect(200);
    expect((await cart()).itemCount).to.equal(1);
  });

  it('when a cart is cleared, then 204 and it is empty', async function () {
    await put('lamp', { quantity: 1 }).expect(200);
    await request(h.app).delete('/carts/alice').expect(204);
    expect((await cart()).items).to.deep.equal([]);
  });

  describe('bad input', function () {
    beforeEach(async function () {
      await put('lamp', { quantity: 2 }).expect(200);
    });
    const unchanged = async () => {
      const c = await cart();
      expect(
        c.items.map((i: { productId: string; quantity: number }) => `${i.productId}:${i.quantity}`),
      ).to.deep.equal(['lamp:2']);
    };

    it('when the product is unknown to the catalog, then 404 product-not-found and the cart is unchanged', async function () {
      const res = await put('ghost', { quantity: 1 }).expect(404).expect('content-type', PROBLEM);
      expect(res.body).to.include({ type: '/problems/product-not-found', productId: 'ghost' });
      await unchanged();
    });

    for (const [what, body] of [
      ['zero', { quantity: 0 }],
      ['negative', { quantity: -1 }],
      ['over the limit', { quantity: 11 }],
      ['huge', { quantity: 1e15 }],
      ['fractional', { quantity: 1.5 }],
      ['a string', { quantity: '2' }],
      ['missing', {}],
      ['with an unknown field', { quantity: 1, price: 1 }],
    ] as [string, unknown][]) {
      it(`when the quantity is ${what}, then 400 problem+json and the cart is unchanged`, async function () {
        const res = await put('lamp', body).expect(400).expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/validation-failed');
        await unchanged();
      });
    }

    for (const [what, body] of [
      ['no items', { orderId: 'o-1', items: [] }],
      ['no order id', { items: [{ productId: 'lamp', quantity: 1 }] }],
      ['a zero quantity', { orderId: 'o-1', items: [{ productId: 'lamp', quantity: 0 }] }],
      ['a product id with a slash', { orderId: 'o-1', items: [{ productId: 'a/b', quantity: 1 }] }],
    ] as [string, unknown][]) {
      it(`when what an order bought is posted with ${what}, then 400 problem+json and the cart is unchanged`, async function () {
        const res = await request(h.app)
          .post('/carts/alice/bought')
          .send(body as object)
          .expect(400)
          .expect('content-type', PROBLEM);
        expect(res.body.type).to.equal('/problems/validation-failed');
        await unchanged();
      });
    }

    it('when what an order bought is posted, then it leaves the cart once', async function () {
      const bought = { orderId: 'o-1', items: [{ productId: 'lamp', quantity: 1 }] };
      expect((await request(h.app).post('/carts/alice/bought').send(bought).expect(200)).body).to.deep.equal({
        removed: true,
      });
      expect((await request(h.app).post('/carts/alice/bought').send(bought).expect(200)).body).to.deep.equal({
        removed: false,
      });
      const c = await cart();
      expect(c.items.map((i: { quantity: number }) => i.quantity)).to.deep.equal([1]);
    });

    it('when the JSON is malformed, then 400 invalid-json and the cart is unchanged', async function () {
      const res = await request(h.app)
        .put('/carts/alice/items/lamp')
        .set('content-type', 'application/json')
        .send('{"quantity": ')
        .expect(400)
        .expect('content-type', PROBLEM);
      expect(res.body.type).to.equal('/problems/invalid-json');
      await unchanged();
    });

    it('when the body is oversized, then 413 and the cart is unchanged', async function () {
      await put('lamp', { quantity: 1, pad: 'x'.repeat(4000) })
        .expect(413)
        .expect('content-type', PROBLEM);
      await unchanged();
    });

    it('when the body is not JSON, then 415 and the cart is unchanged', async function () {
      await request(h.app)
        .put('/carts/alice/items/lamp')
        .set('content-type', 'text/plain')
        .send('quantity=1')
        .expect(415);
      await unchanged();
    });

    it('when ids are malformed, then 400 on every endpoint and the cart is unchanged', async function () {
      await request(h.app).get('/carts/bad%20user').expect(400).expect('content-type', PROBLEM);
      await put('bad%20id', { quantity: 1 }).expect(400).expect('content-type', PROBLEM);
      await request(h.app).delete('/carts/alice/items/bad%20id').expect(400).expect('content-type', PROBLEM);
      await request(h.app).delete('/carts/bad%20user').expect(400).expect('content-type', PROBLEM);
      await request(h.app)
        .get(`/carts/${'u'.repeat(200)}`)
        .expect(400);
      await unchanged();
    });

    it('when the cart already has the most lines, then a new product is 409 cart-full and the cart is unchanged', async function () {
      await put('mug', { quantity: 1 }).expect(200);
      h.catalog.set({ id: 'pen', name: 'Pen', image: '/images/pen.webp', priceCents: 100, currency: 'USD' });
      h.catalog.set({ id: 'cup', name: 'Cup', image: '/images/cup.webp', priceCents: 100, currency: 'USD' });
      await put('pen', { quantity: 1 }).expect(200);
      const res = await put('cup', { quantity: 1 }).expect(409).expect('content-type', PROBLEM);
      expect(res.body).to.include({ type: '/problems/cart-full', maxLines: 3 });
      await put('pen', { quantity: 4 }).expect(200);
      expect((await cart()).items.map((i: { productId: string }) => i.productId)).to.deep.equal([
        'lamp',
        'mug',
        'pen',
      ]);
    });
  });

  it('when the OpenAPI document is read, then every route has an operationId and the quantity limit', async function () {
    const doc = (await request(h.app).get('/openapi.json').expect(200)).body;
    const put = doc.paths['/carts/{userId}/items/{productId}'].put;
    expect(put.operationId).to.equal('setCartItem');
    expect(put.requestBody.content['application/json'].schema.properties.quantity.maximum).to.equal(10);
    expect(doc.paths['/carts/{userId}'].get.operationId).to.equal('getCart');
  });
});
