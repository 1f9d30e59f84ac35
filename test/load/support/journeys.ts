// A shopper's journeys through the gateway's public API (/api/v1), shared by the end-to-end tests of both modes
// (everything in one process, every service in its own process).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { runLoad, type LoadSummary } from '../../../scripts/load.ts';
import { call, until } from '../../e2e/support/real-system.ts';

export async function login(gateway: string, username: string, password = username): Promise<string> {
  const res = await call(gateway, 'POST', '/api/v1/auth/token', { username, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  expect(res.body.token_type).to.match(/bearer/i);
  return res.body.access_token as string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Fills the cart, checks out with the card and returns the order once it left PENDING. */
export async function purchase(
  gateway: string,
  token: string,
  paymentToken: string,
  quantity = 2,
): Promise<{ order: any; product: any }> {
  const list = await call(gateway, 'GET', '/api/v1/products?limit=5', undefined, bearer(token));
  expect(list.status, JSON.stringify(list.body)).to.equal(200);
  const product = list.body.items[1];
  const added = await call(gateway, 'PUT', `/api/v1/cart/items/${product.id}`, { quantity }, bearer(token));
  expect(added.status, JSON.stringify(added.body)).to.equal(200);
  const cart = await call(gateway, 'GET', '/api/v1/cart', undefined, bearer(token));
  expect(cart.body.items.find((i: any) => i.productId === product.id)?.quantity).to.equal(quantity);

  const started = await call(
    gateway,
    'POST',
    '/api/v1/checkout',
    { paymentToken },
    { ...bearer(token), 'idempotency-key': randomUUID() },
  );
  expect(started.status, JSON.stringify(started.body)).to.equal(202);
  expect(started.body.status).to.equal('PENDING');
  const order = await until(
    async () => {
      const res = await call(
        gateway,
        'GET',
        `/api/v1/orders/${started.body.orderId}`,
        undefined,
        bearer(token),
      );
      return res.status === 200 && res.body.status !== 'PENDING' ? res.body : undefined;
    },
    `order ${started.body.orderId} to leave PENDING`,
    30000,
  );
  return { order, product };
}

/** A smoke run of the load generator: at least `requests` requests of the whole mix, none failed. */
export async function smokeLoad(gateway: string, rate: number, requests = 500): Promise<LoadSummary> {
  const summary = await runLoad({ baseUrl: gateway, rate, requests, users: 10, seed: 4 });
  expect(
    summary.errors,
    JSON.stringify({ byKey: summary.errorsByKey, samples: summary.errorSamples }),
  ).to.equal(0);
  expect(summary.requests).to.be.at.least(requests);
  expect(Object.keys(summary.byKind)).to.include.members([
    'home',
    'product',
    'search',
    'cart-add',
    'cart',
    'checkout',
  ]);
  expect(summary.orders.placed).to.be.greaterThan(0);
  expect(summary.p50Ms).to.be.greaterThan(0);
  expect(summary.p99Ms).to.be.at.least(summary.p50Ms);
  return summary;
}

/**
 * The journeys every mode must pass, as mocha tests; `gateway()` is read when they run. `loadRate` is the smoke
 * run's offered rate: eight processes on a shared 2-CPU machine sustain less than one process does.
 */
export function shopperJourneys(gateway: () => string, loadRate: number): void {
  it('when a demo user signs in with a wrong password, then a 401 problem+json comes back and no token', async () => {
    const res = await call(gateway(), 'POST', '/api/v1/auth/token', { username: 'alice', password: 'nope' });
    expect(res.status).to.equal(401);
    expect(res.headers.get('content-type')).to.match(/application\/problem\+json/);
    expect(res.body.access_token).to.equal(undefined);
  });

  it('when a shopper browses, then pages, categories, search and the product page answer through /api/v1', async () => {
    const token = await login(gateway(), 'alice');
    const page = await call(gateway(), 'GET', '/api/v1/products?page=2&limit=5', undefined, bearer(token));
    expect(page.status).to.equal(200);
    expect(page.body).to.include({ page: 2, limit: 5 });
    expect(page.body.items).to.have.length(5);
    expect(page.body.total).to.be.greaterThan(10);
    const kitchen = await call(
      gateway(),
      'GET',
      '/api/v1/products?category=kitchen',
      undefined,
      bearer(token),
    );
    expect(kitchen.body.items.length).to.be.greaterThan(0);
    expect(kitchen.body.items.every((p: any) => p.category === 'kitchen')).to.equal(true);
    const search = await call(gateway(), 'GET', '/api/v1/products?q=knife');
    expect(search.body.items.some((p: any) => /knife/i.test(p.name))).to.equal(true);
    const one = await call(gateway(), 'GET', `/api/v1/products/${kitchen.body.items[0].id}`);
    expect(one.status).to.equal(200);
    expect(one.body.id).to.equal(kitchen.body.items[0].id);
    const missing = await call(gateway(), 'GET', '/api/v1/products/no-such-product');
    expect(missing.status).to.equal(404);
  });

  it('when a shopper checks out with a good card, then the order is CONFIRMED and the cart emptied', async () => {
    const token = await login(gateway(), 'alice');
    const { order, product } = await purchase(gateway(), token, 'tok_visa', 2);
    expect(order.status).to.equal('CONFIRMED');
    expect(order.totalCents).to.equal(2 * product.priceCents);
    await until(async () => {
      const cart = await call(gateway(), 'GET', '/api/v1/cart', undefined, bearer(token));
      return cart.body.items.length === 0 ? true : undefined;
    }, 'the cart to be emptied by the saga');
    const mine = await call(gateway(), 'GET', '/api/v1/orders', undefined, bearer(token));
    expect(JSON.stringify(mine.body)).to.include(order.id);
    // Someone else's order does not exist for bob.
    const other = await call(
      gateway(),
      'GET',
      `/api/v1/orders/${order.id}`,
      undefined,
      bearer(await login(gateway(), 'bob')),
    );
    expect(other.status).to.equal(404);
  });

  it('when the card is declined, then the order is CANCELLED with the reason', async () => {
    const token = await login(gateway(), 'bob');
    const { order } = await purchase(gateway(), token, 'tok_decline', 1);
    expect(order.status).to.equal('CANCELLED');
    expect(order.reason).to.match(/declined/);
    // The saga only clears the cart of a confirmed order.
    const cart = await call(gateway(), 'GET', '/api/v1/cart', undefined, bearer(token));
    expect(cart.body.items.length).to.be.greaterThan(0);
    await call(gateway(), 'DELETE', '/api/v1/cart', undefined, bearer(token));
  });

  it(`when the load generator runs the shop mix for 500 requests at ${loadRate}/s, then every request succeeds`, async function () {
    this.timeout(120000);
    const summary = await smokeLoad(gateway(), loadRate);
    expect(summary.throughputPerSecond).to.be.greaterThan(0);
    // The gateway accepts load-test customers (LOAD_USERS): each virtual user shops as a customer of its own.
    expect(summary.accounts).to.have.length(10);
    expect(new Set(summary.accounts).size).to.equal(10);
    expect(summary.accounts.every((n) => /^load-\d+$/.test(n))).to.equal(true);
  });
}
