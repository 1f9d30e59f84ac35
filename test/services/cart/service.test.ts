import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { kitSettings, loadConfig } from '@meshmart/kit';
import { definition, settings } from '../../../services/cart/src/service.ts';
import { eachBackend, testKit, testRedis, type TestRedis } from '../../support/stores.ts';
import { testenv } from '../../support/testenv.ts';

eachBackend('cart service definition', (backend) => {
  let server: Server;
  let redis: TestRedis | undefined;
  beforeEach(async function () {
    const catalog = express();
    catalog.get('/prices', (req, res) => {
      const ids = (req.query.ids as string).split(',');
      res.json({
        items: ids.includes('lamp')
          ? [{ id: 'lamp', name: 'Lamp', image: '/images/lamp.webp', priceCents: 1000, currency: 'USD' }]
          : [],
        missing: ids.filter((id) => id !== 'lamp'),
      });
    });
    server = await new Promise<Server>((resolve) => {
      const s = catalog.listen(0, '127.0.0.1', () => resolve(s));
    });
    redis = backend === 'real' ? await testRedis('cart_svc') : undefined;
  });
  afterEach(async function () {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await redis?.close();
  });

  it('when it is built, then carts are priced through CATALOG_URL and expire after CART_TTL_SECONDS', async function () {
    const env: Record<string, string> = {
      CATALOG_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      CART_TTL_SECONDS: '120',
      MAX_QUANTITY_PER_ITEM: '3',
    };
    if (redis) {
      env.REDIS_URL = testenv('REDIS_URL');
      env.REDIS_KEY_PREFIX = redis.prefix;
    }
    const config = loadConfig('cart', { ...kitSettings({ port: 8082 }), ...settings }, env);
    const kit = testKit('cart');
    const built = await definition.build({
      config,
      logger: kit.logger,
      metrics: kit.metrics,
      health: kit.health,
      host: {},
    });
    try {
      const res = await request(built.app).put('/carts/alice/items/lamp').send({ quantity: 3 }).expect(200);
      expect(res.body.totalCents).to.equal(3000);
      await request(built.app).put('/carts/alice/items/lamp').send({ quantity: 4 }).expect(400);
      await request(built.app).put('/carts/alice/items/ghost').send({ quantity: 1 }).expect(404);
      if (redis) {
        const ttl = await redis.redis.ttl(`${redis.prefix}cart:carts:alice`);
        expect(ttl).to.be.within(110, 120);
      }
    } finally {
      for (const c of built.closers ?? []) await c.close();
    }
  });
});
