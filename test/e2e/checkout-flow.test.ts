import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { call, startRealSystem, until, type RealSystem } from './support/real-system.ts';

// Every service in its own process against real Redis and FerretDB: the saga across HTTP, events across Redis
// Streams, projections and the audit chain, crashes included.
describe('checkout across every service (own processes, real Redis and FerretDB)', function () {
  this.timeout(120000);
  let system: RealSystem;
  let products: { id: string; priceCents: number }[];

  before(async () => {
    system = await startRealSystem({
      serviceEnv: (s): Record<string, string> =>
        s === 'checkout' ? { SAGA_LEASE_MS: '2000', SAGA_RECOVERY_INTERVAL_MS: '500' } : {},
    });
    const list = await call(system.url('catalog'), 'GET', '/products?limit=10');
    expect(list.status).to.equal(200);
    products = list.body.items;
    expect(products.length).to.be.greaterThan(5);
  });
  after(async () => system?.close());

  const user = () => `user-${randomUUID().slice(0, 8)}`;
  const stock = async (productId: string) =>
    (await call(system.url('inventory'), 'GET', `/stock/${productId}`)).body;
  const setStock = async (productId: string, available: number) => {
    const res = await call(
      system.url('inventory'),
      'PUT',
      `/admin/stock/${productId}`,
      { available },
      { 'x-admin-token': system.adminToken },
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  };
  const addToCart = async (userId: string, productId: string, quantity: number) => {
    const res = await call(system.url('cart'), 'PUT', `/carts/${userId}/items/${productId}`, { quantity });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  };
  const checkout = (userId: string, paymentToken: string, key = randomUUID()) =>
    call(system.url('checkout'), 'POST', '/checkouts', { userId, paymentToken }, { 'idempotency-key': key });
  const finalOrder = (orderId: string) =>
    until(async () => {
      const res = await call(system.url('orders'), 'GET', `/orders/${orderId}`);
      return res.status === 200 && res.body.status !== 'PENDING' ? res.body : undefined;
    }, `order ${orderId} to leave PENDING`);
  const payments = async (orderId: string) =>
    (await call(system.url('payments'), 'GET', `/payments?orderId=${orderId}`)).body.items as any[];
  const auditRecords = async (resource: string) =>
    (await call(system.url('audit'), 'GET', `/audit?resource=${encodeURIComponent(resource)}&limit=100`)).body
      .items as any[];

  it('when a customer checks out with a good card, then stock is taken, money captured, the order CONFIRMED and audited', async () => {
    const [p] = products;
    await setStock(p.id, 5);
    const userId = user();
    await addToCart(userId, p.id, 2);

    const started = await checkout(userId, 'tok_visa');
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    expect(started.body.status).to.equal('PENDING');
    const order = await finalOrder(started.body.orderId);

    expect(order.status).to.equal('CONFIRMED');
    expect(order.totalCents).to.equal(2 * p.priceCents);
    expect(order.history.map((h: any) => h.type)).to.include.members(['OrderPlaced', 'OrderConfirmed']);
    const s = await until(async () => {
      const now = await stock(p.id);
      return now.reserved === 0 ? now : undefined;
    }, 'the reservation to be committed');
    expect(s.available).to.equal(3);
    const [payment, ...others] = await until(async () => {
      const list = await payments(order.id);
      return list.length === 1 && list[0].status === 'CAPTURED' ? list : undefined;
    }, 'the payment to be captured');
    expect(others).to.have.length(0);
    expect(payment.capturedCents).to.equal(order.totalCents);
    await until(async () => {
      const cart = await call(system.url('cart'), 'GET', `/carts/${userId}`);
      return cart.body.items.length === 0 ? true : undefined;
    }, 'the cart to be emptied by the saga');

    const audited = await until(async () => {
      const records = await auditRecords(`order/${order.id}`);
      return records.some((r) => r.action === 'OrderConfirmed') ? records : undefined;
    }, 'the audit trail to record the confirmation');
    expect(audited.map((r) => r.action)).to.include('OrderPlaced');
    const verify = await call(system.url('audit'), 'GET', '/audit/verify');
    expect(verify.body.ok).to.equal(true);
    expect(verify.body.records).to.be.greaterThan(3);
  });

  it('when the card is declined, then the order is CANCELLED with the reason, stock restored and nothing captured', async () => {
    const p = products[1];
    await setStock(p.id, 4);
    const userId = user();
    await addToCart(userId, p.id, 3);

    const started = await checkout(userId, 'tok_decline');
    expect(started.status).to.equal(202);
    const order = await finalOrder(started.body.orderId);

    expect(order.status).to.equal('CANCELLED');
    expect(order.reason).to.match(/declin/i);
    const s = await until(async () => {
      const now = await stock(p.id);
      return now.reserved === 0 ? now : undefined;
    }, 'the reservation to be released');
    expect(s.available).to.equal(4);
    const list = await payments(order.id);
    expect(list.every((x) => x.status !== 'CAPTURED' && x.capturedCents === 0)).to.equal(true);
    const saga = await call(system.url('checkout'), 'GET', `/sagas/${started.body.sagaId}`);
    expect(saga.body.status).to.equal('COMPENSATED');
  });

  it('when an item is out of stock, then the order is CANCELLED as out of stock and no payment is attempted', async () => {
    const p = products[2];
    await setStock(p.id, 1);
    const userId = user();
    await addToCart(userId, p.id, 2);

    const started = await checkout(userId, 'tok_visa');
    const order = await finalOrder(started.body.orderId);

    expect(order.status).to.equal('CANCELLED');
    expect(order.reason).to.match(/out of stock/i);
    expect(await payments(order.id)).to.have.length(0);
    const s = await stock(p.id);
    expect(s).to.include({ available: 1, reserved: 0 });
  });

  it('when the same Idempotency-Key is sent twice, then both answers name the same order and one order exists', async () => {
    const p = products[3];
    await setStock(p.id, 10);
    const userId = user();
    await addToCart(userId, p.id, 1);
    const key = randomUUID();

    const [first, second] = await Promise.all([
      checkout(userId, 'tok_visa', key),
      checkout(userId, 'tok_visa', key),
    ]);
    expect(first.status).to.equal(202);
    expect(second.body.orderId).to.equal(first.body.orderId);
    await finalOrder(first.body.orderId);
    const third = await checkout(userId, 'tok_visa', key);
    expect(third.body.orderId).to.equal(first.body.orderId);

    const mine = await call(system.url('orders'), 'GET', `/orders?userId=${userId}`);
    expect(mine.body.total).to.equal(1);
    expect((await stock(p.id)).available).to.equal(9);
  });

  /** Stock 6 and a cart of 2 of a product, payments slowed by `latencyMs`, and a checkout started. */
  async function slowCheckout(product: { id: string }, latencyMs: number) {
    await setStock(product.id, 6);
    const userId = user();
    await addToCart(userId, product.id, 2);
    await call(system.url('payments'), 'PUT', '/chaos/latency', { ms: latencyMs });
    const started = await checkout(userId, 'tok_visa');
    expect(started.status).to.equal(202);
    return started.body as { sagaId: string; orderId: string };
  }

  /** After a restart: the order CONFIRMED, the saga COMPLETED, 2 taken from 6 and nothing held, one payment captured. */
  async function settledOnce(product: { id: string }, started: { sagaId: string; orderId: string }) {
    const order = await finalOrder(started.orderId);
    expect(order.status).to.equal('CONFIRMED');
    const s = await until(async () => {
      const now = await stock(product.id);
      return now.reserved === 0 ? now : undefined;
    }, 'no reservation left held');
    expect(s.available).to.equal(4);
    const list = await until(async () => {
      const all = await payments(order.id);
      return all.length > 0 && all.every((x) => x.status === 'CAPTURED') ? all : undefined;
    }, 'the payment to be captured');
    expect(list).to.have.length(1);
    // The saga's last step (emptying the cart) may still be running when the payment shows as captured.
    const saga = await until(async () => {
      const res = await call(system.url('checkout'), 'GET', `/sagas/${started.sagaId}`);
      return ['RUNNING', 'COMPENSATING'].includes(res.body.status) ? undefined : res.body;
    }, 'the saga to end');
    expect(saga.status).to.equal('COMPLETED');
    return { order, saga };
  }

  it('when checkout is killed mid-saga and started again, then the saga finishes with nothing left dangling', async () => {
    const p = products[4];
    try {
      // Slow payments keep the saga inside the authorize step long enough to kill it there.
      const started = await slowCheckout(p, 1500);
      const authorizing = (saga: any): number =>
        saga.log.filter((e: any) => e.event === 'step-started' && e.step === 'authorizePayment').length;
      await until(async () => {
        const res = await call(system.url('checkout'), 'GET', `/sagas/${started.sagaId}`);
        return authorizing(res.body) === 1 ? true : undefined;
      }, 'the saga to be inside the authorize step');
      expect((await stock(p.id)).reserved).to.equal(2);
      await system.kill('checkout');
      await call(system.url('payments'), 'DELETE', '/chaos');
      await system.start('checkout');

      const { saga } = await settledOnce(p, started);
      expect(authorizing(saga), 'the authorize step ran again after the restart').to.equal(2);
    } finally {
      await call(system.url('payments'), 'DELETE', '/chaos');
    }
  });

  it('when checkout is killed before it recorded any step and started again, then the steps re-run under the same keys and nothing is done twice', async () => {
    const p = products[5];
    try {
      // Quicker than SAGA_PROGRESS_WRITE_MS (500): the steps before the kill are not written on their own.
      const started = await slowCheckout(p, 400);
      // Read from inventory itself (no projection in between), polled every 10 ms: the kill lands while the payment
      // is being authorized, before that step's own write would be due.
      await until(
        async () => ((await stock(p.id)).reserved === 2 ? true : undefined),
        'the saga to be past reserving stock (authorizing the payment)',
        20_000,
        10,
      );
      await system.kill('checkout');
      const killedAt = Date.now();
      const stored = await call(system.url('orders'), 'GET', `/orders/${started.orderId}`);
      expect(stored.body.status).to.equal('PENDING');
      await call(system.url('payments'), 'DELETE', '/chaos');
      await system.start('checkout');

      const { order, saga } = await settledOnce(p, started);
      // Nothing of the first run was written but the saga's creation: its log starts again at the first step, after
      // the kill (a recorded first run would have left that step's start from before it).
      const placed = saga.log.filter((e: any) => e.event === 'step-started' && e.step === 'placeOrder');
      expect(placed).to.have.length(1);
      expect(Date.parse(placed[0].at), 'placing the order ran again after the restart').to.be.above(killedAt);
      // The order was placed once and its stock reserved once.
      const history = (order.history as { type: string }[]).map((h) => h.type);
      expect(history.filter((t) => t === 'OrderPlaced')).to.have.length(1);
      expect(history.filter((t) => t === 'OrderStockReserved')).to.have.length(1);
    } finally {
      await call(system.url('payments'), 'DELETE', '/chaos');
    }
  });

  it('when an event is delivered twice, then the projection and the audit trail process it once', async () => {
    const p = products[5];
    await setStock(p.id, 3);
    const userId = user();
    await addToCart(userId, p.id, 1);
    const started = await checkout(userId, 'tok_visa');
    const order = await finalOrder(started.body.orderId);
    const auditBefore = await until(async () => {
      const records = await auditRecords(`order/${order.id}`);
      return records.some((r) => r.action === 'OrderConfirmed') ? records : undefined;
    }, 'the audit trail to record the order');

    // Re-append the order's OrderPlaced message to its stream: a redelivery as Redis Streams would make it.
    const stream = `${system.redisPrefix}events:orders.events`;
    const entries = await system.redis.xrange(stream, '-', '+');
    const placed = entries.find(([, fields]) => {
      const raw = fields.join(' ');
      return raw.includes(order.id) && raw.includes('OrderPlaced');
    });
    expect(placed, 'OrderPlaced on the stream').to.not.equal(undefined);
    await system.redis.xadd(stream, '*', ...placed![1]);

    // A later order on the same stream: once it is audited and projected, the duplicate before it has been handled.
    const other = user();
    await addToCart(other, p.id, 1);
    const next = await finalOrder((await checkout(other, 'tok_visa')).body.orderId);
    await until(async () => {
      const records = await auditRecords(`order/${next.id}`);
      return records.some((r) => r.action === 'OrderConfirmed') ? true : undefined;
    }, 'the audit trail to pass the duplicate');

    const after = await call(system.url('orders'), 'GET', `/orders/${order.id}`);
    expect(after.body.history.filter((h: any) => h.type === 'OrderPlaced')).to.have.length(1);
    expect(after.body.version).to.equal(order.version);
    const auditAfter = await auditRecords(`order/${order.id}`);
    expect(auditAfter.length).to.equal(auditBefore.length);
    expect((await call(system.url('audit'), 'GET', '/audit/verify')).body.ok).to.equal(true);
  });
});
