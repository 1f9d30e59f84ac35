import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { HostedSystem } from '@meshmart/kit';
import type { InMemoryEventBus } from '@meshmart/kit/events';
import { runnableServices } from '../../scripts/system.ts';
import { startEmbeddedSystem } from '../support/embedded-system.ts';
import { call, until } from './support/real-system.ts';

// The embedded default of `make start`: every service in one process, in-memory stores, one in-process event bus.
describe('the whole system in one process with no infrastructure (make start)', function () {
  this.timeout(60000);
  let system: HostedSystem;
  let bus: InMemoryEventBus;
  let urls: Readonly<Record<string, string>>;

  before(async () => {
    ({ system, bus, urls } = await startEmbeddedSystem());
  });
  after(async () => {
    await system?.shutdown('test over');
    await bus?.close();
  });

  const purchase = async (paymentToken: string) => {
    const list = await call(urls.catalog, 'GET', '/products?limit=1');
    const [product] = list.body.items;
    const userId = `u-${randomUUID().slice(0, 8)}`;
    expect(
      (await call(urls.cart, 'PUT', `/carts/${userId}/items/${product.id}`, { quantity: 1 })).status,
    ).to.equal(200);
    const started = await call(
      urls.checkout,
      'POST',
      '/checkouts',
      { userId, paymentToken },
      { 'idempotency-key': randomUUID() },
    );
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    return until(async () => {
      const res = await call(urls.orders, 'GET', `/orders/${started.body.orderId}`);
      return res.status === 200 && res.body.status !== 'PENDING' ? res.body : undefined;
    }, 'the order to leave PENDING');
  };

  it('when every service is hosted, then each answers ready on its own port', async () => {
    expect(system.services.map((s) => s.service)).to.have.members(runnableServices().map((s) => s.name));
    for (const s of system.services) {
      expect((await call(s.running.url, 'GET', '/healthz/ready')).status, s.service).to.equal(200);
    }
  });

  it('when a customer buys with a good card, then the order is CONFIRMED and audited through the in-process bus', async () => {
    // Only checkout calls inventory and payments: in one process it does so without a socket (the kit's in-process calls).
    const connections = { inventory: 0, payments: 0 };
    for (const s of system.services)
      if (s.service === 'inventory' || s.service === 'payments')
        s.running.server.on('connection', () => connections[s.service as keyof typeof connections]++);
    const order = await purchase('tok_visa');
    expect(order.status).to.equal('CONFIRMED');
    expect(connections, 'connections to the services only checkout calls').to.deep.equal({
      inventory: 0,
      payments: 0,
    });
    await until(async () => {
      const records = await call(urls.audit, 'GET', `/audit?resource=order/${order.id}`);
      return records.body.items.some((r: any) => r.action === 'OrderConfirmed') ? true : undefined;
    }, 'the audit trail to record the order');
    expect((await call(urls.audit, 'GET', '/audit/verify')).body.ok).to.equal(true);
  });

  it('when the card is declined, then the order is CANCELLED with the reason', async () => {
    const order = await purchase('tok_decline');
    expect(order.status).to.equal('CANCELLED');
    expect(order.reason).to.match(/declined/);
  });
});
