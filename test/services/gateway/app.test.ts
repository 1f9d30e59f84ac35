import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { SignJWT } from 'jose';
import request from 'supertest';
import { checkoutApi } from '@meshmart/contracts';
import type { EventEnvelope } from '@meshmart/kit/events';
import { assignPort } from '../../../scripts/system.ts';
import { eachBackend, eventually } from '../../support/stores.ts';
import { startGateway, startUpstreams, type Gateway, type Upstreams } from './harness.ts';
import { JWKS_AUDIENCE, JWKS_ISSUER, startJwksServer } from './jwks-server.ts';

const SIGNING_KEY = 'test-signing-key-0123456789abcdef-xyz';
const PROBLEM = /^application\/problem\+json/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// One suite around everything: root-level hooks would run once for the whole mocha run, far from these tests.
describe('gateway (with the real services in this process)', () => {
  let upstreams: Upstreams;

  before(async function () {
    this.timeout(60_000);
    // The services extract the trace context the gateway sends; tracing is off, so register the W3C propagator here.
    propagation.disable();
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    upstreams = await startUpstreams();
  });

  after(async () => {
    await upstreams?.close();
    propagation.disable();
  });

  async function tokenFor(app: Gateway['app'], username: string): Promise<string> {
    const res = await request(app).post('/api/v1/auth/token').send({ username, password: username });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.access_token as string;
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  async function orderStatus(app: Gateway['app'], token: string, orderId: string, want: string) {
    let last: any;
    await eventually(
      async () => {
        last = await request(app).get(`/api/v1/orders/${orderId}`).set(bearer(token));
        return last.status === 200 && last.body.status === want;
      },
      `order ${orderId} ${want}`,
      15_000,
    );
    return last.body;
  }

  eachBackend('gateway', (backend) => {
    let gw: Gateway;
    let alice: string;
    let bob: string;
    let admin: string;
    let product: string;

    before(async () => {
      gw = await startGateway(backend, upstreams, { JWT_SIGNING_KEY: SIGNING_KEY, STAGE: 'test' });
      alice = await tokenFor(gw.app, 'alice');
      bob = await tokenFor(gw.app, 'bob');
      admin = await tokenFor(gw.app, 'admin');
      const list = await request(gw.app).get('/api/v1/products?limit=5');
      product = list.body.items[0].id as string;
    });
    after(() => gw?.close());

    describe('catalog reads', () => {
      it('when products are listed, then catalog answers with gateway image URLs, a strong ETag and public caching', async () => {
        const res = await request(gw.app).get('/api/v1/products?category=electronics&limit=3&page=1');
        expect(res.status).to.equal(200);
        expect(res.body.items).to.have.length(3);
        expect(res.body.total).to.be.greaterThan(3);
        for (const p of res.body.items) {
          expect(p.category).to.equal('electronics');
          expect(p.image).to.match(/^\/api\/v1\/images\/[a-z0-9-]+\.svg$/);
        }
        expect(res.headers.etag).to.match(/^"[^"]+"$/);
        expect(res.headers['cache-control']).to.equal('public, max-age=30');
      });

      it('when the same read comes again, then it is a cache hit with the same ETag, and If-None-Match gives 304', async () => {
        const first = await request(gw.app).get(`/api/v1/products/${product}`);
        const second = await request(gw.app).get(`/api/v1/products/${product}`);
        expect(second.headers['x-cache']).to.equal('HIT');
        expect(second.headers.etag).to.equal(first.headers.etag);
        expect(second.body).to.deep.equal(first.body);
        const notModified = await request(gw.app)
          .get(`/api/v1/products/${product}`)
          .set('if-none-match', `W/"nope", ${first.headers.etag}`);
        expect(notModified.status).to.equal(304);
        expect(notModified.text).to.equal('');
        expect(notModified.headers.etag).to.equal(first.headers.etag);
        const changed = await request(gw.app)
          .get(`/api/v1/products/${product}`)
          .set('if-none-match', '"other"');
        expect(changed.status).to.equal(200);
        const metrics = await gw.metrics();
        expect(metrics).to.match(/gateway_cache_requests_total\{[^}]*result="hit"[^}]*\} [1-9]/);
        expect(metrics).to.match(/gateway_cache_requests_total\{[^}]*result="miss"[^}]*\} [1-9]/);
      });

      it('when an admin changes a product through the gateway, then the cached read shows the change at once', async () => {
        const before = await request(gw.app).get(`/api/v1/products/${product}`);
        const changed = await request(gw.app)
          .put(`/api/v1/admin/products/${product}`)
          .set(bearer(admin))
          .send({ priceCents: before.body.priceCents + 100 });
        expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
        expect(changed.headers['cache-control']).to.equal('private, no-store');
        const after = await request(gw.app).get(`/api/v1/products/${product}`);
        expect(after.headers['x-cache']).to.equal('MISS');
        expect(after.body.priceCents).to.equal(before.body.priceCents + 100);
        expect(after.headers.etag).to.not.equal(before.headers.etag);
      });

      it('when categories and a picture are read, then both come from catalog', async () => {
        const cats = await request(gw.app).get('/api/v1/categories');
        expect(cats.status).to.equal(200);
        expect(cats.body.items.map((c: { id: string }) => c.id)).to.include('electronics');
        const p = await request(gw.app).get(`/api/v1/products/${product}`);
        const img = await request(gw.app).get(p.body.image);
        expect(img.status).to.equal(200);
        expect(img.headers['content-type']).to.match(/^image\/svg\+xml/);
        expect(img.headers['cache-control']).to.match(/immutable/);
        expect(String(img.body ?? img.text)).to.match(/<svg/);
      });

      it('when a product does not exist, then catalog’s 404 problem passes through', async () => {
        const res = await request(gw.app).get('/api/v1/products/no-such-product');
        expect(res.status).to.equal(404);
        expect(res.headers['content-type']).to.match(PROBLEM);
        expect(res.body.type).to.match(/^\/problems\//);
      });
    });

    describe('authentication and roles', () => {
      it('when the password is wrong or the user unknown, then 401 invalid-credentials and no token', async () => {
        for (const body of [
          { username: 'alice', password: 'bob' },
          { username: 'mallory', password: 'mallory' },
        ]) {
          const res = await request(gw.app).post('/api/v1/auth/token').send(body);
          expect(res.status).to.equal(401);
          expect(res.headers['content-type']).to.match(PROBLEM);
          expect(res.body.type).to.equal('/problems/invalid-credentials');
          expect(res.body).to.not.have.property('access_token');
        }
      });

      it('when a user route is called without a token, then 401 with a Bearer challenge', async () => {
        for (const path of ['/api/v1/cart', '/api/v1/orders', '/api/v1/me', '/api/v1/admin/audit']) {
          const res = await request(gw.app).get(path);
          expect(res.status, path).to.equal(401);
          expect(res.headers['www-authenticate']).to.equal('Bearer realm="meshmart"');
          expect(res.headers['content-type']).to.match(PROBLEM);
        }
      });

      it('when the token is expired, forged or malformed, then 401 invalid_token naming the problem', async () => {
        const key = new TextEncoder().encode(SIGNING_KEY);
        const sign = (k: Uint8Array, exp: number) =>
          new SignJWT({ roles: ['admin'] })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject('alice')
            .setIssuer('meshmart-gateway')
            .setAudience('meshmart')
            .setExpirationTime(exp)
            .sign(k);
        const now = Math.floor(Date.now() / 1000);
        const cases: [string, RegExp][] = [
          [await sign(key, now - 60), /expired/],
          [await sign(new TextEncoder().encode('f'.repeat(40)), now + 600), /signature/],
          [`${alice.slice(0, -4)}AAAA`, /signature|not valid/],
        ];
        for (const [token, reason] of cases) {
          const res = await request(gw.app).get('/api/v1/me').set(bearer(token));
          expect(res.status, JSON.stringify(res.body)).to.equal(401);
          expect(res.headers['www-authenticate']).to.match(/error="invalid_token"/);
          expect(res.body.detail).to.match(reason);
        }
        const basic = await request(gw.app).get('/api/v1/me').set('authorization', 'Basic YWxpY2U6YWxpY2U=');
        expect(basic.status).to.equal(401);
      });

      it('when a customer calls an admin route, then 403; an admin gets through', async () => {
        const denied = await request(gw.app).get('/api/v1/admin/audit/verify').set(bearer(alice));
        expect(denied.status).to.equal(403);
        expect(denied.body.type).to.equal('/problems/forbidden');
        const put = await request(gw.app)
          .put(`/api/v1/admin/products/${product}`)
          .set(bearer(bob))
          .send({ name: 'x' });
        expect(put.status).to.equal(403);
        const ok = await request(gw.app).get('/api/v1/admin/audit/verify').set(bearer(admin));
        expect(ok.status).to.equal(200);
        expect(ok.body.ok).to.equal(true);
      });

      it('when a user asks who they are, then the token subject and roles come back', async () => {
        const me = await request(gw.app).get('/api/v1/me').set(bearer(admin));
        expect(me.body).to.deep.equal({ id: 'admin', sub: 'admin', username: 'admin', roles: ['admin'] });
      });
    });

    describe('cart, checkout and orders', () => {
      it('when alice fills her cart, then it is priced by catalog, private, and invisible to bob', async () => {
        const put = await request(gw.app)
          .put(`/api/v1/cart/items/${product}`)
          .set(bearer(alice))
          .send({ quantity: 2 });
        expect(put.status, JSON.stringify(put.body)).to.equal(200);
        expect(put.body.userId).to.equal('alice');
        expect(put.body.items[0]).to.include({ productId: product, quantity: 2 });
        expect(put.body.items[0].image).to.match(/^\/api\/v1\/images\//);
        const get = await request(gw.app).get('/api/v1/cart').set(bearer(alice));
        expect(get.headers['cache-control']).to.equal('private, no-store');
        expect(get.headers).to.not.have.property('etag');
        expect(get.body.itemCount).to.equal(2);
        const bobs = await request(gw.app).get('/api/v1/cart').set(bearer(bob));
        expect(bobs.body.items).to.deep.equal([]);
      });

      it('when the cart is checked out with tok_visa, then the order ends CONFIRMED and the same key returns it again', async () => {
        await request(gw.app).put(`/api/v1/cart/items/${product}`).set(bearer(alice)).send({ quantity: 1 });
        const key = `k-${Date.now()}-${backend}`;
        const started = await request(gw.app)
          .post('/api/v1/checkout')
          .set(bearer(alice))
          .set('idempotency-key', key)
          .send({ paymentToken: 'tok_visa' });
        expect(started.status, JSON.stringify(started.body)).to.equal(202);
        expect(started.body.status).to.equal('PENDING');
        const order = await orderStatus(gw.app, alice, started.body.orderId, 'CONFIRMED');
        expect(order.userId).to.equal('alice');
        const again = await request(gw.app)
          .post('/api/v1/checkout')
          .set(bearer(alice))
          .set('idempotency-key', key)
          .send({ paymentToken: 'tok_visa' });
        expect(again.status).to.equal(202);
        expect(again.body.orderId).to.equal(started.body.orderId);
        const events = await request(gw.app)
          .get(`/api/v1/orders/${started.body.orderId}/events`)
          .set(bearer(alice));
        expect(events.body.items.map((e: { type: string }) => e.type)).to.include('OrderConfirmed');
        const list = await request(gw.app).get('/api/v1/orders').set(bearer(alice));
        expect(list.body.items.map((o: { id: string }) => o.id)).to.include(started.body.orderId);
        const saga = await request(gw.app)
          .get(`/api/v1/admin/sagas/${started.body.sagaId}`)
          .set(bearer(admin));
        expect(saga.status).to.equal(200);
        expect(saga.body.orderId).to.equal(started.body.orderId);
        const bobs = await request(gw.app).get(`/api/v1/orders/${started.body.orderId}`).set(bearer(bob));
        expect(bobs.status).to.equal(404);
        const bobsEvents = await request(gw.app)
          .get(`/api/v1/orders/${started.body.orderId}/events`)
          .set(bearer(bob));
        expect(bobsEvents.status).to.equal(404);
      });

      it('when the card is declined, then the order ends CANCELLED with the reason', async () => {
        await request(gw.app).put(`/api/v1/cart/items/${product}`).set(bearer(bob)).send({ quantity: 1 });
        const started = await request(gw.app)
          .post('/api/v1/checkout')
          .set(bearer(bob))
          .set('idempotency-key', `d-${Date.now()}-${backend}`)
          .send({ paymentToken: 'tok_decline' });
        expect(started.status).to.equal(202);
        const order = await orderStatus(gw.app, bob, started.body.orderId, 'CANCELLED');
        expect(order.reason).to.match(/declined/);
      });

      it('when a shopper waits on the new order with Prefer: wait, then one request answers with the settled order', async () => {
        await request(gw.app).put(`/api/v1/cart/items/${product}`).set(bearer(bob)).send({ quantity: 1 });
        const started = await request(gw.app)
          .post('/api/v1/checkout')
          .set(bearer(bob))
          .set('idempotency-key', `w-${Date.now()}-${backend}`)
          .send({ paymentToken: 'tok_visa' });
        expect(started.status).to.equal(202);
        const waited = await request(gw.app)
          .get(`/api/v1/orders/${started.body.orderId}`)
          .set(bearer(bob))
          .set('Prefer', 'wait=15');
        expect(waited.status, JSON.stringify(waited.body)).to.equal(200);
        expect(waited.body.status).to.equal('CONFIRMED');
        expect(waited.headers['preference-applied']).to.equal('wait=15');
        const others = await request(gw.app)
          .get(`/api/v1/orders/${started.body.orderId}`)
          .set(bearer(alice))
          .set('Prefer', 'wait=15');
        expect(others.status, 'waiting shows nobody else’s order either').to.equal(404);
      });

      it('when the cart is empty, then checkout answers the checkout service’s 409 problem', async () => {
        const empty = await tokenFor(gw.app, 'admin');
        await request(gw.app).delete('/api/v1/cart').set(bearer(empty)).expect(204);
        const res = await request(gw.app)
          .post('/api/v1/checkout')
          .set(bearer(empty))
          .set('idempotency-key', `e-${Date.now()}`)
          .send({ paymentToken: 'tok_visa' });
        expect(res.status, JSON.stringify(res.body)).to.equal(409);
        expect(res.headers['content-type']).to.match(PROBLEM);
        expect(res.body.type).to.equal('/problems/cart-empty');
      });
    });

    describe('bad input', () => {
      it('when requests are malformed, then each is a 4xx problem and alice’s cart does not change', async () => {
        await request(gw.app).delete('/api/v1/cart').set(bearer(alice)).expect(204);
        await request(gw.app)
          .put(`/api/v1/cart/items/${product}`)
          .set(bearer(alice))
          .send({ quantity: 3 })
          .expect(200);
        const before = (await request(gw.app).get('/api/v1/cart').set(bearer(alice))).body;
        const cases: [string, () => request.Test][] = [
          [
            'quantity 0',
            () =>
              request(gw.app).put(`/api/v1/cart/items/${product}`).set(bearer(alice)).send({ quantity: 0 }),
          ],
          [
            'quantity text',
            () =>
              request(gw.app).put(`/api/v1/cart/items/${product}`).set(bearer(alice)).send({ quantity: 'x' }),
          ],
          [
            'extra field',
            () =>
              request(gw.app)
                .put(`/api/v1/cart/items/${product}`)
                .set(bearer(alice))
                .send({ quantity: 1, price: 0 }),
          ],
          [
            'bad product id',
            () => request(gw.app).put('/api/v1/cart/items/%2E%2E').set(bearer(alice)).send({ quantity: 1 }),
          ],
          [
            'unknown product',
            () => request(gw.app).put('/api/v1/cart/items/nope').set(bearer(alice)).send({ quantity: 1 }),
          ],
          [
            'invalid JSON',
            () =>
              request(gw.app)
                .put(`/api/v1/cart/items/${product}`)
                .set(bearer(alice))
                .set('content-type', 'application/json')
                .send('{"quantity":'),
          ],
          [
            'not JSON',
            () =>
              request(gw.app)
                .put(`/api/v1/cart/items/${product}`)
                .set(bearer(alice))
                .set('content-type', 'text/plain')
                .send('quantity=1'),
          ],
          [
            'no idempotency key',
            () =>
              request(gw.app).post('/api/v1/checkout').set(bearer(alice)).send({ paymentToken: 'tok_visa' }),
          ],
          [
            'bad payment token',
            () =>
              request(gw.app)
                .post('/api/v1/checkout')
                .set(bearer(alice))
                .set('idempotency-key', 'b1')
                .send({ paymentToken: '<script>' }),
          ],
          ['limit 0', () => request(gw.app).get('/api/v1/products?limit=0')],
          ['limit too big', () => request(gw.app).get('/api/v1/products?limit=1000')],
          ['unknown query', () => request(gw.app).get('/api/v1/products?sort=price')],
          ['bad asOf', () => request(gw.app).get('/api/v1/orders/o-1?asOf=yesterday').set(bearer(alice))],
          [
            'bad saga status',
            () => request(gw.app).get('/api/v1/admin/sagas?status=DONE').set(bearer(admin)),
          ],
          [
            'empty product patch',
            () => request(gw.app).put(`/api/v1/admin/products/${product}`).set(bearer(admin)).send({}),
          ],
          [
            'token without password',
            () => request(gw.app).post('/api/v1/auth/token').send({ username: 'alice' }),
          ],
          ['unknown API path', () => request(gw.app).get('/api/v1/nothing-here').set(bearer(alice))],
        ];
        for (const [what, send] of cases) {
          const res = await send();
          expect(res.status, what).to.be.within(400, 499);
          expect(res.headers['content-type'], what).to.match(PROBLEM);
          expect(res.headers['x-content-type-options'], what).to.equal('nosniff');
          expect(res.headers['x-api-version'], what).to.equal('v1');
          expect(res.body.status, what).to.equal(res.status);
        }
        const after = (await request(gw.app).get('/api/v1/cart').set(bearer(alice))).body;
        expect(after).to.deep.equal(before);
      });
    });

    describe('user actions', () => {
      it('when a signed-in user changes the cart, then a valid UserAction with who, what, status and trace id is published', async () => {
        const seen: EventEnvelope[] = [];
        const sub = await gw.bus.subscribe({
          topic: 'gateway.user-actions',
          group: `test-${Date.now()}`,
          handler: (e) => {
            seen.push(e);
          },
        });
        try {
          const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
          const res = await request(gw.app)
            .put(`/api/v1/cart/items/${product}`)
            .set(bearer(bob))
            .set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`)
            .set('x-request-id', 'req-user-action-1')
            .send({ quantity: 1 });
          expect(res.status).to.equal(200);
          await eventually(
            () => seen.some((e) => (e.data as { requestId?: string }).requestId === 'req-user-action-1'),
            'the UserAction',
          );
          const event = seen.find(
            (e) => (e.data as { requestId?: string }).requestId === 'req-user-action-1',
          )!;
          expect(event.type).to.equal('UserAction');
          expect(event.source).to.equal('gateway');
          expect(event.data).to.deep.include({
            actor: 'bob',
            action: 'cart.set-item',
            resource: `product/${product}`,
            method: 'PUT',
            path: `/api/v1/cart/items/${product}`,
            status: 200,
            traceId,
          });
          expect(event.headers.traceparent).to.contain(traceId);
        } finally {
          await sub.close();
        }
      });

      if (backend === 'memory') {
        it('when the gateway shares the bus with audit, then the action lands in the audit trail and the chain verifies', async () => {
          const res = await request(gw.app).delete(`/api/v1/cart/items/${product}`).set(bearer(bob));
          expect(res.status).to.equal(200);
          let records: any[] = [];
          await eventually(async () => {
            const page = await request(gw.app)
              .get('/api/v1/admin/audit?actor=bob&limit=100')
              .set(bearer(admin));
            records = page.body.items;
            return records.some((r) => r.action === 'UserAction' && r.resource === `product/${product}`);
          }, 'the audit record of the action');
          const verify = await request(gw.app).get('/api/v1/admin/audit/verify').set(bearer(admin));
          expect(verify.body.ok).to.equal(true);
        });
      }

      it('when the checkout goes through the gateway, then the checkout service continues the same trace', async () => {
        const seen: EventEnvelope[] = [];
        const sub = await upstreams.bus.subscribe({
          topic: 'checkout.events',
          group: `trace-${backend}-${Date.now()}`,
          handler: (e) => {
            seen.push(e);
          },
        });
        try {
          const traceId = `${backend === 'memory' ? 'a' : 'b'}bf92f3577b34da6a3ce929d0e0e4736`;
          await request(gw.app).put(`/api/v1/cart/items/${product}`).set(bearer(alice)).send({ quantity: 1 });
          const started = await request(gw.app)
            .post('/api/v1/checkout')
            .set(bearer(alice))
            .set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`)
            .set('idempotency-key', `t-${Date.now()}`)
            .send({ paymentToken: 'tok_visa' });
          expect(started.status).to.equal(202);
          await eventually(
            () => seen.some((e) => (e.data as { orderId?: string }).orderId === started.body.orderId),
            'CheckoutStarted',
            10_000,
          );
          const event = seen.find((e) => (e.data as { orderId?: string }).orderId === started.body.orderId)!;
          expect(event.headers.traceparent).to.contain(traceId);
        } finally {
          await sub.close();
        }
      });
    });

    describe('headers', () => {
      it('when any API call is answered, then it carries the request id, version, stage and security headers', async () => {
        const res = await request(gw.app).get('/api/v1/products?limit=1').set('x-request-id', 'abc-123');
        expect(res.headers['x-request-id']).to.equal('abc-123');
        expect(res.headers['x-api-version']).to.equal('v1');
        expect(res.headers['x-stage']).to.equal('test');
        expect(res.headers['x-content-type-options']).to.equal('nosniff');
        expect(res.headers['x-frame-options']).to.equal('DENY');
        expect(res.headers['referrer-policy']).to.equal('strict-origin-when-cross-origin');
        expect(res.headers['content-security-policy']).to.contain("frame-ancestors 'none'");
        expect(res.headers).to.not.have.property('strict-transport-security');
        const health = await request(gw.app).get('/healthz/ready');
        expect(health.status).to.equal(200);
        expect(health.headers['x-content-type-options']).to.equal('nosniff');
        expect(health.headers['x-frame-options']).to.equal('DENY');
        const generated = await request(gw.app)
          .get('/api/v1/products?limit=1')
          .set('x-request-id', 'bad id!');
        expect(generated.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
      });

      it('when a CORS preflight comes from an origin not in config, then 403 and no allow headers', async () => {
        const res = await request(gw.app)
          .options('/api/v1/cart')
          .set('origin', 'https://evil.example')
          .set('access-control-request-method', 'PUT');
        expect(res.status).to.equal(403);
        expect(res.headers).to.not.have.property('access-control-allow-origin');
      });
    });
  });

  describe('gateway configured for a deployment', () => {
    let gw: Gateway;
    let webRoot: string;
    const INDEX =
      '<!doctype html><title>MeshMart</title><script type="module" src="/assets/app-ABCD1234.js"></script>';
    before(async () => {
      // A UI directory of the test's own (WEB_ROOT is what prepareWebRoot serves when set, as in the image).
      webRoot = await mkdtemp(join(tmpdir(), 'gateway-web-'));
      await mkdir(join(webRoot, 'assets'));
      await writeFile(join(webRoot, 'index.html'), INDEX);
      await writeFile(join(webRoot, 'assets', 'app-ABCD1234.js'), 'console.log("app")');
      await writeFile(join(webRoot, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
      process.env.WEB_ROOT = webRoot;
      gw = await startGateway('memory', upstreams, {
        JWT_SIGNING_KEY: SIGNING_KEY,
        STAGE: 'prod',
        CORS_ORIGINS: 'https://shop.example,http://localhost:5173',
        TRUST_PROXY_HOPS: '1',
        WEB_UI: 'true',
      });
    });
    after(async () => {
      delete process.env.WEB_ROOT;
      await gw?.close();
      await rm(webRoot, { recursive: true, force: true });
    });

    it('when a preflight comes from the UI origin, then it is allowed with the methods and headers the UI needs', async () => {
      const res = await request(gw.app)
        .options('/api/v1/cart/items/p1')
        .set('origin', 'https://shop.example')
        .set('access-control-request-method', 'PUT')
        .set('access-control-request-headers', 'authorization, content-type');
      expect(res.status).to.equal(204);
      expect(res.headers['access-control-allow-origin']).to.equal('https://shop.example');
      expect(res.headers['access-control-allow-methods']).to.contain('PUT');
      expect(res.headers['access-control-allow-headers']).to.match(/Authorization/);
      expect(res.headers['access-control-allow-headers']).to.match(/Idempotency-Key/);
      expect(res.headers.vary).to.match(/Origin/);
      const get = await request(gw.app).get('/api/v1/categories').set('origin', 'http://localhost:5173');
      expect(get.headers['access-control-allow-origin']).to.equal('http://localhost:5173');
      expect(get.headers['access-control-expose-headers']).to.match(/Retry-After/);
    });

    it('when the request came over TLS through the trusted proxy, then HSTS is sent', async () => {
      const res = await request(gw.app).get('/api/v1/categories').set('x-forwarded-proto', 'https');
      expect(res.headers['strict-transport-security']).to.match(/max-age=\d+/);
    });

    it('when the web UI is served, then / and client-side routes get index.html with the SPA CSP, and /api stays the API', async () => {
      const root = await request(gw.app).get('/');
      expect(root.status).to.equal(200);
      expect(root.headers['content-type']).to.match(/^text\/html/);
      expect(root.headers['cache-control']).to.equal('no-cache');
      expect(root.headers['content-security-policy']).to.contain("script-src 'self'");
      expect(root.headers['content-security-policy']).to.contain("frame-ancestors 'none'");
      expect(root.text).to.equal(INDEX);
      const deep = await request(gw.app).get('/orders/o-123').set('accept', 'text/html');
      expect(deep.status).to.equal(200);
      expect(deep.text).to.equal(INDEX);
      const asset = await request(gw.app).get('/assets/app-ABCD1234.js');
      expect(asset.status).to.equal(200);
      expect(asset.headers['content-type']).to.match(/javascript/);
      expect(asset.headers['cache-control']).to.equal('public, max-age=31536000, immutable');
      const icon = await request(gw.app).get('/favicon.svg');
      expect(icon.headers['cache-control']).to.equal('no-cache');
      const missingAsset = await request(gw.app).get('/assets/missing-file.js');
      expect(missingAsset.status).to.equal(404);
      const api = await request(gw.app).get('/api/v1/nothing');
      expect(api.headers['content-type']).to.match(PROBLEM);
    });

    it('when the OpenAPI document and /docs are fetched, then they describe every public route, the bearer scheme and the demo users', async () => {
      const doc = await request(gw.app).get('/openapi.json');
      expect(doc.status).to.equal(200);
      const paths = Object.keys(doc.body.paths);
      for (const p of [
        '/api/v1/auth/token',
        '/api/v1/products',
        '/api/v1/products/{id}',
        '/api/v1/categories',
        '/api/v1/cart',
        '/api/v1/cart/items/{productId}',
        '/api/v1/checkout',
        '/api/v1/orders',
        '/api/v1/orders/{id}',
        '/api/v1/orders/{id}/events',
        '/api/v1/me',
        '/api/v1/admin/audit',
        '/api/v1/admin/audit/verify',
        '/api/v1/admin/sagas/{id}',
      ])
        expect(paths, p).to.include(p);
      expect(doc.body.components.securitySchemes.bearerAuth.scheme).to.equal('bearer');
      expect(doc.body.info.description).to.match(/alice \/ alice/);
      expect(doc.body.paths['/api/v1/cart'].get.security).to.deep.equal([{ bearerAuth: [] }]);
      // Checkout's answers are documented as checkout's contract states them, not restated.
      const json = (path: string, method: string, status: string) =>
        doc.body.paths[path][method].responses[status].content['application/json'].schema;
      expect(json('/api/v1/admin/sagas/{id}', 'get', '200').properties).to.have.all.keys(
        Object.keys(checkoutApi.SagaView.properties),
      );
      expect(json('/api/v1/admin/sagas', 'get', '200').properties.items.items.required).to.deep.equal(
        checkoutApi.SagaView.required,
      );
      expect(json('/api/v1/checkout', 'post', '202').properties.status.anyOf).to.have.length(4);
      const page = await request(gw.app).get('/docs');
      expect(page.status).to.equal(200);
      expect(page.headers['content-type']).to.match(/^text\/html/);
      expect(page.text).to.contain('/api/v1/checkout');
      expect(page.text).to.contain('admin token');
      expect(page.text).to.not.match(/<script|https?:\/\/(?!idp)/i);
    });
  });

  eachBackend('gateway rate limits', (backend) => {
    let gw: Gateway | undefined;
    afterEach(async () => {
      await gw?.close();
      gw = undefined;
    });

    it('when a user exceeds the limit, then 429 with Retry-After and RateLimit headers, and after the wait it recovers', async () => {
      gw = await startGateway(backend, upstreams, {
        RATE_LIMIT_USER: '2',
        RATE_LIMIT_ADDRESS: '1000',
        RATE_LIMIT_WINDOW_SECONDS: '1',
      });
      const token = await tokenFor(gw.app, 'bob');
      const statuses: number[] = [];
      let refused: request.Response | undefined;
      for (let i = 0; i < 4 && !refused; i++) {
        const res = await request(gw.app).get('/api/v1/me').set(bearer(token));
        statuses.push(res.status);
        if (res.status === 429) refused = res;
        else expect(res.headers['ratelimit-limit']).to.equal('2');
      }
      expect(refused, `statuses ${statuses.join(',')}`).to.not.equal(undefined);
      expect(refused!.headers['content-type']).to.match(PROBLEM);
      expect(refused!.body.type).to.equal('/problems/rate-limited');
      const wait = Number(refused!.headers['retry-after']);
      expect(wait).to.be.within(1, 2);
      expect(refused!.headers['ratelimit-remaining']).to.equal('0');
      // Another user is not affected.
      const alice = await tokenFor(gw.app, 'alice');
      expect((await request(gw.app).get('/api/v1/me').set(bearer(alice))).status).to.equal(200);
      // Time-based: Retry-After promises recovery after that long, so wait exactly that and ask once (a poll would not
      // check the header). A slow machine only lets more time pass, which refills the bucket further.
      await sleep(wait * 1000);
      expect((await request(gw.app).get('/api/v1/me').set(bearer(token))).status).to.equal(200);
      expect(await gw.metrics()).to.match(
        /gateway_rate_limit_rejections_total\{[^}]*scope="user"[^}]*\} [1-9]/,
      );
    });

    it('when one client address sends too much, then its reads are refused before reaching catalog', async () => {
      gw = await startGateway(backend, upstreams, {
        RATE_LIMIT_USER: '0',
        RATE_LIMIT_ADDRESS: '3',
        RATE_LIMIT_WINDOW_SECONDS: '60',
      });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await request(gw.app).get('/api/v1/categories')).status);
      expect(statuses).to.deep.equal([200, 200, 200, 429]);
      const refused = await request(gw.app).get('/api/v1/products/anything');
      expect(refused.status).to.equal(429);
      expect(refused.body.detail).to.match(/address/);
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 20);
      expect(refused.headers['ratelimit-policy']).to.equal('3;w=60');
      expect(await gw.metrics()).to.match(
        /gateway_rate_limit_rejections_total\{[^}]*scope="address"[^}]*\} [1-9]/,
      );
      expect(await gw.metrics()).to.not.match(
        /gateway_cache_requests_total\{[^}]*result="miss"[^}]*\} [4-9]/,
      );
    });
  });

  describe('gateway verifying tokens of an OIDC provider (JWKS)', () => {
    it('when the provider signed the token, then the user gets through with its roles, and the local issuer is off', async () => {
      const jwks = await startJwksServer();
      const gw = await startGateway('memory', upstreams, {
        STAGE: 'prod',
        JWT_JWKS_URL: jwks.url,
        JWT_ISSUER: JWKS_ISSUER,
        JWT_AUDIENCE: JWKS_AUDIENCE,
        JWT_ROLES_CLAIM: 'cognito:groups',
        DEMO_USERS: 'false',
      });
      try {
        const token = await jwks.sign({ sub: 'c0ffee-user', 'cognito:groups': ['admin'] });
        const me = await request(gw.app).get('/api/v1/me').set(bearer(token));
        expect(me.status).to.equal(200);
        expect(me.body).to.deep.include({ id: 'c0ffee-user', roles: ['admin'] });
        const verify = await request(gw.app).get('/api/v1/admin/audit/verify').set(bearer(token));
        expect(verify.status).to.equal(200);
        const customer = await jwks.sign({ sub: 'c0ffee-2' });
        expect((await request(gw.app).get('/api/v1/admin/audit').set(bearer(customer))).status).to.equal(403);
        const issue = await request(gw.app)
          .post('/api/v1/auth/token')
          .send({ username: 'alice', password: 'alice' });
        expect(issue.status).to.equal(404);
        expect(issue.body.type).to.equal('/problems/issuer-disabled');
      } finally {
        await gw.close();
        await jwks.close();
      }
    });

    it('when the provider’s JWKS cannot be fetched, then 503 with Retry-After, not 401', async () => {
      const jwks = await startJwksServer();
      const token = await jwks.sign({ sub: 'c0ffee-user' });
      await jwks.close();
      const gw = await startGateway('memory', upstreams, {
        STAGE: 'prod',
        JWT_JWKS_URL: jwks.url,
        JWT_ISSUER: JWKS_ISSUER,
        JWT_AUDIENCE: JWKS_AUDIENCE,
      });
      try {
        const me = await request(gw.app).get('/api/v1/me').set(bearer(token));
        expect(me.status, JSON.stringify(me.body)).to.equal(503);
        expect(me.body.type).to.equal('/problems/identity-provider-unavailable');
        expect(me.headers['retry-after']).to.equal('5');
      } finally {
        await gw.close();
      }
    });

    it('when LOAD_USERS is set in the local stage, then load-1 … load-N sign in as distinct customers; outside it the gateway refuses to start', async () => {
      const gw = await startGateway('memory', upstreams, { LOAD_USERS: '3' });
      try {
        const signIn = (username: string, password = username) =>
          request(gw.app).post('/api/v1/auth/token').send({ username, password });
        const third = await signIn('load-3');
        expect(third.status).to.equal(200);
        const me = await request(gw.app)
          .get('/api/v1/me')
          .set(bearer(third.body.access_token as string));
        expect(me.body).to.deep.include({ id: 'load-3', roles: ['customer'] });
        expect((await signIn('load-4')).status, 'only as many as LOAD_USERS').to.equal(401);
        expect((await signIn('load-1', 'wrong')).status).to.equal(401);
      } finally {
        await gw.close();
      }
      let error: unknown;
      try {
        await startGateway('memory', upstreams, {
          STAGE: 'prod',
          LOAD_USERS: '3',
          JWT_SIGNING_KEY: 'k'.repeat(40),
        });
      } catch (err) {
        error = err;
      }
      expect(String(error)).to.match(/LOAD_USERS .* is only for the local stage/);
    });

    it('when neither a signing key nor a JWKS URL is set outside the local stage, then the gateway refuses to start', async () => {
      let error: unknown;
      try {
        await startGateway('memory', upstreams, { STAGE: 'prod' });
      } catch (err) {
        error = err;
      }
      expect(String(error)).to.match(/JWT_SIGNING_KEY or JWT_JWKS_URL is required/);
    });
  });

  describe('gateway with an upstream down', () => {
    it('when catalog and cart cannot be reached, then 503 problem with Retry-After', async () => {
      // Below the ephemeral range and listened on by nobody: connections are refused.
      const dead = `http://127.0.0.1:${assignPort()}`;
      const gw = await startGateway(
        'memory',
        { ...upstreams, env: { ...upstreams.env, CATALOG_URL: dead, CART_URL: dead } },
        { UPSTREAM_TIMEOUT_MS: '500' },
      );
      try {
        const products = await request(gw.app).get('/api/v1/products');
        expect(products.status, JSON.stringify(products.body)).to.equal(503);
        expect(products.headers['content-type']).to.match(PROBLEM);
        expect(Number(products.headers['retry-after'])).to.be.greaterThan(0);
        const token = await tokenFor(gw.app, 'alice');
        const cart = await request(gw.app).get('/api/v1/cart').set(bearer(token));
        expect(cart.status).to.equal(503);
        expect(Number(cart.headers['retry-after'])).to.be.greaterThan(0);
      } finally {
        await gw.close();
      }
    });
  });
});
