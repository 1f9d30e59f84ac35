import { expect } from 'chai';
import request from 'supertest';
import { MongoClient } from 'mongodb';
import { kitSettings, loadConfig, type Closer } from '@meshmart/kit';
import type { EventBus, EventEnvelope } from '@meshmart/kit/events';
import { MongoSagaRepository } from '../../../services/checkout/src/adapters/mongo-saga-repository.ts';
import type { CheckoutContext } from '../../../services/checkout/src/domain/checkout-saga.ts';
import { initialSteps } from '../../../services/checkout/src/domain/saga-definition.ts';
import { checkoutSaga, reservationIdFor } from '../../../services/checkout/src/domain/checkout-saga.ts';
import { definition } from '../../../services/checkout/src/service.ts';
import {
  eachBackend,
  eventually,
  testBus,
  testKit,
  testRedis,
  uniqueName,
  type TestRedis,
} from '../../support/stores.ts';
import { testenv } from '../../support/testenv.ts';
import { fakeUpstreams, type FakeUpstreams } from './adapters/fake-upstreams.ts';

// The service as service.ts builds it: HTTP participants (here the fake upstreams), the chosen store, the relay.
eachBackend('checkout service (built from its definition)', (backend) => {
  let upstreams: FakeUpstreams;
  let bus: EventBus;
  let redis: TestRedis | undefined;
  let closers: readonly Closer[];
  let dbName: string;
  const published: EventEnvelope[] = [];

  beforeEach(async () => {
    upstreams = await fakeUpstreams();
    upstreams.sim.setStock('p1', 5);
    upstreams.sim.setCart('alice', [{ productId: 'p1', name: 'Lamp', unitPriceCents: 1500, quantity: 2 }]);
    // [real]: events cross Redis Streams, as between processes.
    redis = backend === 'real' ? await testRedis('checkout') : undefined;
    bus = testBus(backend, 'test', redis);
    published.length = 0;
    await bus.subscribe({
      topic: 'checkout.events',
      group: 'test',
      handler: (e) => {
        published.push(e);
      },
      retryDelayMs: 50,
    });
    dbName = uniqueName('test_checkout_service');
    closers = [];
  });
  afterEach(async () => {
    for (const c of closers) await c.close();
    await bus.close();
    await redis?.close();
    await upstreams.close();
    if (backend === 'real') {
      const client = await MongoClient.connect(testenv('MONGO_URL'));
      await client.db(dbName).dropDatabase();
      await client.close();
    }
  });

  async function build() {
    const env = {
      ORDERS_URL: upstreams.url,
      INVENTORY_URL: upstreams.url,
      PAYMENTS_URL: upstreams.url,
      CART_URL: upstreams.url,
      SAGA_BACKOFF_MS: '1',
      SAGA_MAX_BACKOFF_MS: '5',
      SAGA_RECOVERY_INTERVAL_MS: '50',
      ...(backend === 'real' ? { MONGO_URL: testenv('MONGO_URL'), MONGO_DATABASE: dbName } : {}),
    };
    const config = loadConfig('checkout', { ...kitSettings({ port: 8086 }), ...definition.settings }, env);
    const kit = { ...testKit('checkout'), config, host: { bus } };
    const built = await definition.build(kit);
    closers = built.closers ?? [];
    return built.app;
  }

  it('when a checkout is posted, then the saga runs over HTTP to completion and its events are published', async () => {
    const app = await build();
    const res = await request(app)
      .post('/checkouts')
      .set('Idempotency-Key', 'svc-1')
      .send({ userId: 'alice', paymentToken: 'tok_visa' })
      .expect(202);

    await eventually(
      () => published.some((e) => e.type === 'CheckoutCompleted'),
      'CheckoutCompleted on the bus',
      10000,
    );
    // Delivery is at least once; consumers dedupe on the event id, and so does this check.
    const once = [...new Map(published.map((e) => [e.id, e])).values()];
    expect(once.map((e) => e.type)).to.deep.equal(['CheckoutStarted', 'CheckoutCompleted']);
    expect(once[0].data).to.deep.equal({
      sagaId: res.body.sagaId,
      orderId: res.body.orderId,
      userId: 'alice',
      totalCents: 3000,
    });
    expect(upstreams.sim.orderStore.get(res.body.orderId)?.status).to.equal('CONFIRMED');
    expect(upstreams.sim.paymentsOf(res.body.orderId).map((p) => p.status)).to.deep.equal(['CAPTURED']);
    expect(upstreams.sim.carts.has('alice')).to.equal(false);
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).to.match(/checkout_sagas_total\{outcome="completed"[^}]*} 1/);
  });

  if (backend === 'real') {
    it('when the service starts over a saga a crashed process left mid-run, then it resumes and finishes it', async () => {
      const client = await MongoClient.connect(testenv('MONGO_URL'));
      try {
        const repo = new MongoSagaRepository<CheckoutContext>(client.db(dbName));
        const sagaId = 'crashed-1';
        const orderId = 'order-crashed-1';
        const context: CheckoutContext = {
          orderId,
          userId: 'alice',
          paymentToken: 'tok_visa',
          items: [{ productId: 'p1', name: 'Lamp', unitPriceCents: 1500, quantity: 2 }],
          totalCents: 3000,
          currency: 'USD',
          reservationId: reservationIdFor(sagaId),
        };
        // The dead process had placed the order and was reserving stock when it died.
        await upstreams.sim.orders.place(
          { orderId, userId: 'alice', items: context.items, currency: 'USD' },
          { idempotencyKey: 'x' },
        );
        const steps = initialSteps(checkoutSaga());
        steps[0] = { ...steps[0], status: 'SUCCEEDED', attempts: 1 };
        steps[1] = { ...steps[1], status: 'RUNNING', attempts: 1 };
        const at = new Date(Date.now() - 60_000).toISOString();
        await repo.create(
          {
            id: sagaId,
            definition: 'checkout',
            idempotencyKey: 'crashed-key',
            userId: 'alice',
            orderId,
            status: 'RUNNING',
            context,
            steps,
            log: [{ at, event: 'saga-started' }],
            lease: { owner: 'dead-process', until: Date.now() - 1000, generation: 0 },
            trace: {},
            createdAt: at,
            updatedAt: at,
          },
          [],
        );

        const app = await build();
        await eventually(
          async () => (await request(app).get(`/sagas/${sagaId}`)).body.status === 'COMPLETED',
          'the interrupted saga to complete',
          10000,
        );
        expect(upstreams.sim.orderStore.get(orderId)?.status).to.equal('CONFIRMED');
        expect(upstreams.sim.reservations.get(context.reservationId)?.status).to.equal('COMMITTED');
        expect(upstreams.sim.stock.get('p1')).to.deep.equal({ available: 3, reserved: 0 });
        expect(upstreams.sim.count('orders.place')).to.equal(1);
      } finally {
        await client.close();
      }
    });
  }
});
