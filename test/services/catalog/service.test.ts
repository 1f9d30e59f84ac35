import { expect } from 'chai';
import request from 'supertest';
import { Health, kitSettings, loadConfig, type Built, type Closer } from '@meshmart/kit';
import { InMemoryEventBus, type EventEnvelope } from '@meshmart/kit/events';
import { definition } from '../../../services/catalog/src/service.ts';
import {
  eventually,
  testKit,
  testMongo,
  testRedis,
  type TestMongo,
  type TestRedis,
} from '../../support/stores.ts';
import { testenv } from '../../support/testenv.ts';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN } from '../../support/admin.ts';

async function build(env: Record<string, string>, bus: InMemoryEventBus): Promise<Built> {
  const config = loadConfig(
    'catalog',
    { ...kitSettings({ port: 8081 }), ...definition.settings },
    { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env },
  );
  const kit = testKit('catalog');
  return definition.build({
    config,
    logger: kit.logger,
    metrics: kit.metrics,
    health: new Health(),
    host: { bus },
  });
}

async function closeAll(closers: readonly Closer[] | undefined): Promise<void> {
  for (const closer of closers ?? []) await closer.close();
}

describe('catalog service definition', function () {
  it('when built without stores, then it runs seeded on the twins and relays events to the bus', async function () {
    const bus = new InMemoryEventBus({ source: 'test' });
    const built = await build({}, bus);
    const app = built.app;
    try {
      expect(definition.defaultPort).to.equal(8081);
      const list = await request(app).get('/products?limit=1').expect(200);
      expect(list.body.total).to.be.at.least(40);
      const seen: EventEnvelope[] = [];
      const sub = await bus.subscribe({
        topic: 'catalog.events',
        group: 't',
        handler: (e) => void seen.push(e),
      });
      await request(app)
        .put('/admin/products/plush-bear')
        .set(ADMIN_HEADERS)
        .send({ priceCents: 2100 })
        .expect(200);
      await eventually(() => seen.length === 1, 'ProductUpdated from the relay');
      expect(seen[0].data).to.include({ productId: 'plush-bear', priceCents: 2100 });
      await sub.close();
    } finally {
      await closeAll(built.closers);
      await bus.close();
    }
  });

  it('when CACHE_TTL_SECONDS is not a positive integer, then the config is refused', function () {
    const spec = { ...kitSettings({ port: 8081 }), ...definition.settings };
    expect(() => loadConfig('catalog', spec, { CACHE_TTL_SECONDS: '0' })).to.throw(/CACHE_TTL_SECONDS/);
    expect(() => loadConfig('catalog', spec, { CACHE_TTL_SECONDS: 'soon' })).to.throw(/CACHE_TTL_SECONDS/);
    expect(loadConfig('catalog', spec, {}).cacheTtlSeconds).to.equal(60);
  });

  describe('with MongoDB and Redis', function () {
    let mongo: TestMongo;
    let redis: TestRedis;
    beforeEach(async function () {
      mongo = await testMongo('catalog');
      redis = await testRedis('catalog');
    });
    afterEach(async function () {
      await mongo.close();
      await redis.close();
    });

    it('when two replicas start at once, then the catalogue is seeded once and they share the cache', async function () {
      const env = {
        MONGO_URL: testenv('MONGO_URL'),
        MONGO_DATABASE: mongo.db.databaseName,
        REDIS_URL: testenv('REDIS_URL'),
        REDIS_KEY_PREFIX: redis.prefix,
      };
      const bus = new InMemoryEventBus({ source: 'test' });
      const [a, b] = await Promise.all([build(env, bus), build(env, bus)]);
      try {
        const seeded = await mongo.db.collection('products').countDocuments({});
        const first = await request(a.app).get('/products?limit=1').expect(200);
        expect(first.body.total).to.equal(seeded);
        expect(seeded).to.be.at.least(40);
        // Replica b caches the product; replica a changes it; b must not serve its cached copy.
        await request(b.app).get('/products/plush-bear').expect(200);
        await request(a.app)
          .put('/admin/products/plush-bear')
          .set(ADMIN_HEADERS)
          .send({ priceCents: 1 })
          .expect(200);
        const read = await request(b.app).get('/products/plush-bear').expect(200);
        expect(read.body.priceCents).to.equal(1);
      } finally {
        await closeAll(a.closers);
        await closeAll(b.closers);
        await bus.close();
      }
    });
  });
});
