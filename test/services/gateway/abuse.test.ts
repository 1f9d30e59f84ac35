import { expect } from 'chai';
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import request from 'supertest';
import type { EventEnvelope } from '@meshmart/kit/events';
import { startEmbeddedSystem } from '../../support/embedded-system.ts';
import { eventually } from '../../support/wait.ts';
import { startGateway, startUpstreams, type Gateway, type Upstreams } from './harness.ts';

const SIGNING_KEY = 'test-signing-key-0123456789abcdef-xyz';
const PROBLEM = /^application\/problem\+json/;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The ways a path was written to reach a route while a middleware looking at `/api/` missed it. */
const SIGN_IN_VARIANTS = [
  '/API/v1/auth/token',
  '/Api/v1/auth/token',
  '/api/V1/auth/token',
  '/api/v1/AUTH/TOKEN',
  '/api/v1/auth/token/',
  '//api/v1/auth/token',
  '/api//v1/auth/token',
  '/api%2Fv1/auth/token',
  '/api/v1/auth/./token',
];

describe('gateway under abuse (with the real services in this process)', () => {
  let upstreams: Upstreams;

  before(async function () {
    this.timeout(60_000);
    propagation.disable();
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    upstreams = await startUpstreams();
  });
  after(async () => {
    await upstreams?.close();
    propagation.disable();
  });

  async function collect(gw: Gateway, topic: string) {
    const seen: EventEnvelope[] = [];
    const sub = await gw.bus.subscribe({
      topic,
      group: `abuse-${Date.now()}-${Math.random()}`,
      handler: (e) => {
        seen.push(e);
      },
    });
    return { seen, close: () => sub.close() };
  }

  describe('paths written another way', () => {
    let gw: Gateway;
    before(async () => {
      gw = await startGateway('memory', upstreams, {
        JWT_SIGNING_KEY: SIGNING_KEY,
        STAGE: 'test',
        RATE_LIMIT_ADDRESS: '12',
        RATE_LIMIT_WINDOW_SECONDS: '3600',
      });
    });
    after(() => gw?.close());

    it('when the sign-in path is written in another case, with a trailing, doubled or encoded slash, then no token is issued, every answer is an API problem, and each counts against the rate limit', async () => {
      const ok = await request(gw.app)
        .post('/api/v1/auth/token')
        .send({ username: 'alice', password: 'alice' });
      expect(ok.status).to.equal(200);
      expect(ok.headers['cache-control']).to.equal('private, no-store');
      expect(ok.headers['ratelimit-limit']).to.equal('12');
      for (const path of SIGN_IN_VARIANTS) {
        const res = await request(gw.app).post(path).send({ username: 'alice', password: 'alice' });
        expect(res.status, path).to.be.within(400, 499);
        expect(res.status, path).to.not.equal(429);
        expect(res.body, path).to.not.have.property('access_token');
        expect(res.headers['content-type'], path).to.match(PROBLEM);
        expect(res.headers['cache-control'], path).to.equal('private, no-store');
        expect(res.headers['ratelimit-limit'], path).to.equal('12');
      }
      // 1 + 9 taken; the twelfth is the last one allowed.
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push(
          (await request(gw.app).post('/API/v1/auth/token').send({ username: 'a', password: 'b' })).status,
        );
      expect(statuses).to.deep.equal([404, 404, 429]);
    });

    it('when an admin path is written in upper case, then it is not a route: a customer gets no admin data', async () => {
      const gw2 = await startGateway('memory', upstreams, { JWT_SIGNING_KEY: SIGNING_KEY, STAGE: 'test' });
      try {
        const token = (
          await request(gw2.app).post('/api/v1/auth/token').send({ username: 'bob', password: 'bob' })
        ).body.access_token as string;
        for (const path of ['/api/v1/ADMIN/audit', '/API/V1/admin/audit', '/api/v1/admin/audit/']) {
          const res = await request(gw2.app).get(path).set(bearer(token));
          expect(res.status, path).to.be.oneOf([403, 404]);
          expect(res.body, path).to.not.have.property('items');
        }
      } finally {
        await gw2.close();
      }
    });
  });

  describe('prices that change and checkouts that could only fail later', () => {
    let gw: Gateway;
    let admin: string;
    let products: string[];
    before(async () => {
      gw = await startGateway('memory', upstreams, { JWT_SIGNING_KEY: SIGNING_KEY, STAGE: 'test' });
      admin = await tokenOf(gw, 'admin');
      const list = await request(gw.app).get('/api/v1/products?category=kitchen&limit=6');
      products = (list.body.items as { id: string }[]).map((p) => p.id);
    });
    after(() => gw?.close());

    const tokenOf = async (g: Gateway, user: string) =>
      (await request(g.app).post('/api/v1/auth/token').send({ username: user, password: user })).body
        .access_token as string;
    const setPrice = async (productId: string, priceCents: number) => {
      const res = await request(gw.app)
        .put(`/api/v1/admin/products/${productId}`)
        .set(bearer(admin))
        .send({ priceCents });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    };
    const checkout = (token: string, key: string, body: Record<string, unknown> = {}) =>
      request(gw.app)
        .post('/api/v1/checkout')
        .set(bearer(token))
        .set('idempotency-key', key)
        .send({ paymentToken: 'tok_visa', ...body });

    it('when an admin raises a price after it was put in the cart, then the cart shows the change and the order is charged the new price', async () => {
      const alice = await tokenOf(gw, 'alice');
      const product = products[0];
      await setPrice(product, 1000);
      await request(gw.app).delete('/api/v1/cart').set(bearer(alice)).expect(204);
      await request(gw.app)
        .put(`/api/v1/cart/items/${product}`)
        .set(bearer(alice))
        .send({ quantity: 2 })
        .expect(200);
      await setPrice(product, 100_000);
      const cart = await request(gw.app).get('/api/v1/cart').set(bearer(alice));
      expect(cart.body.items[0]).to.deep.include({
        productId: product,
        unitPriceCents: 100_000,
        priceWhenAddedCents: 1000,
        lineTotalCents: 200_000,
      });
      expect(cart.body.totalCents).to.equal(200_000);
      // A client that states the total it showed before the change is refused, not charged unseen.
      const stale = await checkout(alice, `stale-${Date.now()}`, { expectedTotalCents: 2000 });
      expect(stale.status).to.equal(409);
      expect(stale.headers['content-type']).to.match(PROBLEM);
      expect(stale.body).to.include({
        type: '/problems/price-changed',
        expectedTotalCents: 2000,
        totalCents: 200_000,
      });
      const started = await checkout(alice, `new-${Date.now()}`, { expectedTotalCents: 200_000 });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      let order: { totalCents?: number; items?: { unitPriceCents: number }[] } = {};
      await eventually(async () => {
        const res = await request(gw.app).get(`/api/v1/orders/${started.body.orderId}`).set(bearer(alice));
        order = res.body as typeof order;
        return res.status === 200;
      }, 'the order');
      expect(order.totalCents).to.equal(200_000);
      expect(order.items?.[0]?.unitPriceCents).to.equal(100_000);
    });

    it('when the cart holds a product priced 0, then checkout is 422 invalid-price at once and no order is made', async () => {
      const bob = await tokenOf(gw, 'bob');
      await setPrice(products[1], 0);
      await request(gw.app).delete('/api/v1/cart').set(bearer(bob)).expect(204);
      await request(gw.app)
        .put(`/api/v1/cart/items/${products[1]}`)
        .set(bearer(bob))
        .send({ quantity: 1 })
        .expect(200);
      const res = await checkout(bob, `free-${Date.now()}`);
      expect(res.status).to.equal(422);
      expect(res.headers['content-type']).to.match(PROBLEM);
      expect(res.body.type).to.equal('/problems/invalid-price');
      expect(res.body.products).to.deep.equal([products[1]]);
      const orders = await request(gw.app).get('/api/v1/orders').set(bearer(bob));
      expect(orders.body.total).to.equal(0);
    });

    it('when the cart total is over the payment limit, then checkout is 422 amount-over-limit naming the limit', async () => {
      const bob = await tokenOf(gw, 'bob');
      await setPrice(products[2], 10_000_000);
      await setPrice(products[3], 10_000_000);
      await request(gw.app).delete('/api/v1/cart').set(bearer(bob)).expect(204);
      for (const p of [products[2], products[3]])
        await request(gw.app)
          .put(`/api/v1/cart/items/${p}`)
          .set(bearer(bob))
          .send({ quantity: 10 })
          .expect(200);
      const res = await checkout(bob, `big-${Date.now()}`);
      expect(res.status).to.equal(422);
      expect(res.headers['content-type']).to.match(PROBLEM);
      expect(res.body).to.include({
        type: '/problems/amount-over-limit',
        totalCents: 200_000_000,
        limitCents: 100_000_000,
      });
      expect(res.body.detail).to.contain('1000000.00');
    });
  });

  describe('operational endpoints', () => {
    it('when the gateway is given a metrics port, then its public port answers /metrics with a 404 problem and only the metrics port serves it', async () => {
      const embedded = await startEmbeddedSystem({ GATEWAY_METRICS_PORT: '0' });
      try {
        const gateway = embedded.system.services.find((s) => s.service === 'gateway')!.running;
        for (const path of ['/metrics', '/metrics?x=1', '/METRICS']) {
          const res = await fetch(`${gateway.url}${path}`);
          expect(res.status, path).to.equal(404);
          expect(res.headers.get('content-type'), path).to.match(PROBLEM);
          expect(res.headers.get('x-content-type-options'), path).to.equal('nosniff');
          expect(await res.text(), path).to.not.contain('http_request_duration_seconds');
        }
        expect(gateway.metricsUrl).to.not.contain(gateway.url);
        const scraped = await fetch(gateway.metricsUrl);
        expect(scraped.status).to.equal(200);
        expect(await scraped.text()).to.match(/http_request_duration_seconds_count\{[^}]*service="gateway"/);
        // Internal services keep /metrics on their port (behind their NetworkPolicies).
        const catalog = embedded.system.services.find((s) => s.service === 'catalog')!.running;
        expect(catalog.metricsUrl).to.equal(`${catalog.url}/metrics`);
        expect((await fetch(catalog.metricsUrl)).status).to.equal(200);
      } finally {
        await embedded.system.shutdown('test done');
        await embedded.bus.close();
      }
    });
  });

  describe('the audit trail read while it grows', () => {
    it('when an admin pages through it while each read appends a record, then no record is seen twice or skipped', async () => {
      const gw = await startGateway('memory', upstreams, { JWT_SIGNING_KEY: SIGNING_KEY, STAGE: 'test' });
      try {
        const admin = (
          await request(gw.app).post('/api/v1/auth/token').send({ username: 'admin', password: 'admin' })
        ).body.access_token as string;
        const read = (query: string) =>
          request(gw.app).get(`/api/v1/admin/audit?${query}`).set(bearer(admin));
        // At least 12 records, then a first page: its newest seq is where the walk starts.
        for (let i = 0; i < 12; i++)
          await request(gw.app)
            .post('/api/v1/auth/token')
            .send({ username: 'nobody', password: `x${i}` });
        await eventually(async () => (await read('limit=1')).body.total >= 12, '12 audit records');
        const seen: number[] = [];
        let res = await read('limit=5');
        for (;;) {
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          seen.push(...(res.body.items as { seq: number }[]).map((r) => r.seq));
          if (res.body.older === undefined) break;
          // This read's own audit.read record lands meanwhile: with page numbers it pushed every page down one.
          const total = res.body.total as number;
          await eventually(async () => (await read('limit=1')).body.total > total + 1, 'the reads recorded');
          res = await read(`limit=5&before=${res.body.older}`);
        }
        expect(seen).to.deep.equal(Array.from({ length: seen[0] }, (_, i) => seen[0] - i));
        const newer = await read(`limit=5&after=${seen[4]}`);
        // The page just newer than the fifth record: the four above it, and one appended since the first read.
        expect(newer.body.items.map((r: { seq: number }) => r.seq)).to.deep.equal([
          seen[0] + 1,
          ...seen.slice(0, 4),
        ]);
        expect((await read('before=3&after=1')).body.items.map((r: { seq: number }) => r.seq)).to.deep.equal([
          2,
        ]);
      } finally {
        await gw.close();
      }
    });
  });

  describe('failed sign-ins', () => {
    let gw: Gateway;
    before(async () => {
      gw = await startGateway('memory', upstreams, {
        JWT_SIGNING_KEY: SIGNING_KEY,
        STAGE: 'test',
        TRUST_PROXY_HOPS: '1',
        RATE_LIMIT_SIGN_IN: '3',
      });
    });
    after(() => gw?.close());

    const signIn = (address: string, username: string, password: string) =>
      request(gw.app)
        .post('/api/v1/auth/token')
        .set('x-forwarded-for', address)
        .set('x-request-id', `sign-in-${address}-${username}-${password}`.replace(/[^\w.:-]/g, '-'))
        .send({ username, password });

    it('when a sign-in fails, then a SignInFailed event names the user tried, the client address and the reason', async () => {
      const events = await collect(gw, 'gateway.user-actions');
      try {
        expect((await signIn('203.0.113.7', 'alice', 'wrong')).status).to.equal(401);
        expect((await signIn('203.0.113.7', 'mallory', 'x')).status).to.equal(401);
        // The group reads the topic from its start: earlier tests' events are there too.
        const mine = () =>
          events.seen
            .filter((e) => e.type === 'SignInFailed')
            .map((e) => e.data as { sourceAddress?: string })
            .filter((d) => d.sourceAddress === '203.0.113.7');
        await eventually(() => mine().length >= 2, 'two SignInFailed events');
        const failed = mine();
        expect(failed[0]).to.deep.include({
          actor: 'alice',
          resource: 'user/alice',
          sourceAddress: '203.0.113.7',
          reason: 'wrong-password',
          status: 401,
          path: '/api/v1/auth/token',
        });
        expect(failed[1]).to.deep.include({ actor: 'mallory', reason: 'unknown-user' });
      } finally {
        await events.close();
      }
    });

    it('when the failed sign-ins of an address reach the limit, then its next sign-ins are refused with 429 before the password is looked at, and each refusal is not recorded', async () => {
      const events = await collect(gw, 'gateway.user-actions');
      try {
        const address = '198.51.100.9';
        for (let i = 0; i < 3; i++)
          expect((await signIn(address, 'admin', `guess-${i}`)).status).to.equal(401);
        for (let i = 0; i < 5; i++) {
          const refused = await signIn(address, 'admin', i === 4 ? 'admin' : `guess-x${i}`);
          expect(refused.status).to.equal(429);
          expect(refused.headers['content-type']).to.match(PROBLEM);
          expect(refused.body.type).to.equal('/problems/sign-in-rate-limited');
          expect(Number(refused.headers['retry-after'])).to.be.greaterThan(0);
          expect(refused.body).to.not.have.property('access_token');
        }
        // Another address, and a successful sign-in, are not affected; successes cost nothing.
        for (let i = 0; i < 5; i++)
          expect((await signIn('192.0.2.1', 'alice', 'alice')).status).to.equal(200);
        await eventually(
          () =>
            events.seen.filter(
              (e) =>
                e.type === 'SignInFailed' && (e.data as { sourceAddress?: string }).sourceAddress === address,
            ).length >= 3,
          'three SignInFailed events',
        );
        const fromAddress = events.seen.filter(
          (e) =>
            e.type === 'SignInFailed' && (e.data as { sourceAddress?: string }).sourceAddress === address,
        );
        expect(fromAddress).to.have.length(3);
        expect(await gw.metrics()).to.match(
          /gateway_rate_limit_rejections_total\{[^}]*scope="sign-in"[^}]*\} 5/,
        );
      } finally {
        await events.close();
      }
    });

    it('when SignInFailed reaches the audit trail, then an admin finds it by the user tried', async () => {
      await signIn('203.0.113.50', 'bob', 'nope');
      const admin = (await signIn('203.0.113.51', 'admin', 'admin')).body.access_token as string;
      await eventually(async () => {
        const page = await request(gw.app).get('/api/v1/admin/audit?actor=bob&limit=50').set(bearer(admin));
        return (page.body.items as { action: string }[]).some((r) => r.action === 'SignInFailed');
      }, 'the audit record of the failed sign-in');
    });
  });
});
