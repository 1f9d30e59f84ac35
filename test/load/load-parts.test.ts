import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { parseDuration } from '../../scripts/load.ts';
import { KINDS, picker, seededRandom, WEIGHTS } from '../../scripts/load/mix.ts';
import { ShopClient, Shopper, type Catalog } from '../../scripts/load/shop.ts';
import { percentile, Recorder } from '../../scripts/load/stats.ts';

describe('load generator parts', () => {
  it('when percentiles are taken, then they use the nearest rank of the sorted samples', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).to.equal(50);
    expect(percentile(sorted, 99)).to.equal(99);
    expect(percentile(sorted, 100)).to.equal(100);
    expect(percentile([7], 99)).to.equal(7);
    expect(Number.isNaN(percentile([], 50))).to.equal(true);
  });

  it('when kinds are drawn many times, then their shares follow the Online Boutique weights', () => {
    const next = picker(seededRandom(42));
    const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<string, number>;
    const n = 46_000;
    for (let i = 0; i < n; i++) counts[next()]++;
    const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
    for (const kind of KINDS) {
      expect(counts[kind] / n, kind).to.be.closeTo(WEIGHTS[kind] / total, 0.01);
    }
  });

  it('when the same seed is used twice, then the same sequence of kinds comes out', () => {
    const a = picker(seededRandom(7));
    const b = picker(seededRandom(7));
    expect(Array.from({ length: 50 }, a)).to.deep.equal(Array.from({ length: 50 }, b));
  });

  it('when failures are recorded, then they are counted per kind and key with one sample per key', () => {
    const r = new Recorder();
    r.ok('product', 2);
    r.fail('checkout', 5, 'checkout 409 cart-empty', 'POST /api/v1/checkout -> 409');
    r.fail('checkout', 6, 'checkout 409 cart-empty', 'POST /api/v1/checkout -> 409 again');
    expect(r.requests).to.equal(3);
    expect(r.errors).to.equal(2);
    expect(r.byKind().checkout).to.include({ requests: 2, errors: 2 });
    expect(r.byKind().product).to.include({ requests: 1, errors: 0, p50Ms: 2 });
    expect(r.errorsByKey.get('checkout 409 cart-empty')).to.equal(2);
    expect(r.errorSamples).to.have.length(1);
  });

  it('when durations are written with units, then they are read as seconds, and nonsense is refused', () => {
    expect(parseDuration('30s')).to.equal(30);
    expect(parseDuration('2m')).to.equal(120);
    expect(parseDuration('500ms')).to.equal(0.5);
    expect(parseDuration('12')).to.equal(12);
    expect(() => parseDuration('soon')).to.throw(/not a duration/);
  });

  it('when a connection closes before any answer, then an idempotent request is sent again with retryOnReset, and a POST without a key is not', async () => {
    const seen = new Set<string>();
    // The first request for each path is dropped unanswered, as a server closing a kept-alive connection does.
    const server = createServer((req, res) => {
      if (seen.has(req.url!)) res.end('ok');
      else {
        seen.add(req.url!);
        req.socket.destroy();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const retrying = new ShopClient(url, 5000, 1, true);
    const plain = new ShopClient(url, 5000, 1);
    try {
      expect((await retrying.send('GET', '/a')).text).to.equal('ok');
      expect((await retrying.send('POST', '/b', { headers: { 'Idempotency-Key': 'k' } })).text).to.equal(
        'ok',
      );
      expect(retrying.retried).to.equal(2);
      const unkeyed = await retrying.send('POST', '/c').then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(unkeyed?.code).to.equal('UND_ERR_SOCKET');
      const without = await plain.send('GET', '/d').then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(without?.code).to.equal('UND_ERR_SOCKET');
      expect(plain.retried + retrying.retried).to.equal(2);
    } finally {
      await retrying.pool.close();
      await plain.pool.close();
      server.close();
    }
  });

  describe('a shopper', () => {
    const catalog: Catalog = { productIds: ['p1', 'p2'], categories: ['kitchen'], words: ['knife'] };
    const shopper = () =>
      new Shopper({ username: 'alice', password: 'alice' }, catalog, seededRandom(1), 'tok_visa');

    it('when it would check out an empty cart, then it adds to the cart first', () => {
      const s = shopper();
      const plan = s.plan('checkout');
      expect(plan.kind).to.equal('cart-add');
      expect(plan.method).to.equal('PUT');
    });

    it('when an add to the cart is still in flight, then a checkout waits (a product page instead)', () => {
      const s = shopper();
      const add = s.plan('cart-add');
      expect(s.plan('checkout').kind).to.equal('product');
      expect(add.check({ status: 200, text: '{}' })).to.equal(undefined);
      expect(s.plan('checkout').kind).to.equal('checkout');
    });

    it('when an order was placed, then it follows the order until CONFIRMED and the cart until it is empty', () => {
      const s = shopper();
      s.plan('cart-add').check({ status: 200, text: '{}' });
      const checkout = s.plan('checkout');
      expect(checkout.headers?.['idempotency-key']).to.be.a('string');
      expect(checkout.check({ status: 202, text: '{"orderId":"o1","status":"PENDING"}' })).to.equal(
        undefined,
      );
      const later = performance.now() + 1000;
      const look = s.plan('cart-add', later);
      expect(look).to.include({ kind: 'order', path: '/api/v1/orders/o1' });
      expect(look.check({ status: 404, text: '' })).to.equal(undefined);
      expect(s.orders.notYetVisible).to.equal(1);
      s.plan('checkout', later).check({ status: 200, text: '{"id":"o1","status":"CONFIRMED"}' });
      expect(s.orders.confirmed).to.equal(1);
      const cart = s.plan('checkout', later);
      expect(cart).to.include({ kind: 'cart', path: '/api/v1/cart' });
      cart.check({ status: 200, text: '{"items":[]}' });
      expect(s.plan('checkout', later).kind).to.equal('cart-add');
    });

    it('when a request fails, then the failure is reported as the expected status', () => {
      const s = shopper();
      expect(s.plan('product').check({ status: 500, text: '' })).to.equal('expected 200');
      expect(s.plan('checkout').check({ status: 429, text: '' })).to.equal('expected 200');
    });
  });
});
