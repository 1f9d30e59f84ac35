import { expect } from 'chai';
import request from 'supertest';
import { kitSettings, loadConfig, type Closer } from '@meshmart/kit';
import { definition } from '../../../services/orders/src/service.ts';
import { eachBackend, testKit, testMongo, type TestMongo } from '../../support/stores.ts';
import { settled } from './harness.ts';
import { testenv } from '../../support/testenv.ts';

eachBackend('orders service definition', (backend) => {
  let mongo: TestMongo | undefined;
  let closers: readonly Closer[] = [];
  afterEach(async function () {
    for (const closer of closers) await closer.close();
    await mongo?.close();
  });

  it('when it is built from its settings, then an order placed through the app reaches its read model', async function () {
    const env: Record<string, string> = { OUTBOX_INTERVAL_MS: '50' };
    if (backend === 'real') {
      mongo = await testMongo('orders');
      // The service opens its own client; the test's handle drops the database afterwards. No REDIS_URL: the
      // service would then use the shared streams without a test prefix (the harness tests cover the Redis bus).
      Object.assign(env, { MONGO_URL: testenv('MONGO_URL'), MONGO_DATABASE: mongo.db.databaseName });
    }
    const config = loadConfig(
      'orders',
      { ...kitSettings({ port: definition.defaultPort }), ...definition.settings },
      env,
    );
    const kit = testKit('orders');
    const built = await definition.build({ config, ...kit, host: {} });
    closers = built.closers ?? [];
    expect(closers.map((c) => c.name).slice(0, 2)).to.deep.equal(['orders-projector', 'outbox-relay']);
    const app = built.app;
    const body = {
      orderId: 'o-1',
      userId: 'alice',
      currency: 'USD',
      items: [{ productId: 'p-1', name: 'Lamp', unitPriceCents: 100, quantity: 3 }],
    };
    await request(app).post('/orders').send(body).expect(201);
    await settled(async () => {
      const list = await request(app).get('/orders?userId=alice');
      return list.body.total === 1;
    }, 'the order in the read model');
    const got = await request(app).get('/orders/o-1').expect(200);
    expect(got.body).to.deep.include({ status: 'PENDING', totalCents: 300 });
  });
});
