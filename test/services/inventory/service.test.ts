import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { kitSettings, loadConfig } from '@meshmart/kit';
import { definition, settings } from '../../../services/inventory/src/service.ts';
import { testenv } from '../../support/testenv.ts';
import { eachBackend, testKit, testMongo } from '../../support/stores.ts';
import { ADMIN_HEADERS, TEST_ADMIN_TOKEN } from '../../support/admin.ts';

eachBackend('inventory service definition', (backend) => {
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'inventory-svc-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('when it is built with a catalog file, then each product is seeded with INVENTORY_SEED_UNITS once', async function () {
    const file = join(dir, 'products.json');
    await writeFile(file, JSON.stringify({ products: [{ id: 'kettle' }, { id: 'toaster' }] }));
    const mongo = backend === 'real' ? await testMongo('inventory_svc') : undefined;
    const env: Record<string, string> = {
      INVENTORY_SEED_FILE: file,
      INVENTORY_SEED_UNITS: '12',
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    };
    if (mongo) {
      env.MONGO_URL = testenv('MONGO_URL');
      env.MONGO_DATABASE = mongo.db.databaseName;
    }
    const config = loadConfig('inventory', { ...kitSettings({ port: 8083 }), ...settings }, env);
    const build = async () => {
      const kit = testKit('inventory');
      return definition.build({
        config,
        logger: kit.logger,
        metrics: kit.metrics,
        health: kit.health,
        host: {},
      });
    };
    try {
      const built = await build();
      const res = await request(built.app).get('/stock?ids=kettle,toaster').expect(200);
      expect(res.body.items).to.deep.equal([
        { productId: 'kettle', available: 12, reserved: 0 },
        { productId: 'toaster', available: 12, reserved: 0 },
      ]);
      await request(built.app)
        .put('/admin/stock/kettle')
        .set(ADMIN_HEADERS)
        .send({ available: 3 })
        .expect(200);
      for (const c of built.closers ?? []) await c.close();
      if (mongo) {
        // A restart must not reset stock that exists.
        const again = await build();
        expect((await request(again.app).get('/stock/kettle').expect(200)).body.available).to.equal(3);
        for (const c of again.closers ?? []) await c.close();
      }
    } finally {
      await mongo?.close();
    }
  });

  it('when the catalog file is absent, then nothing is seeded', async function () {
    const config = loadConfig(
      'inventory',
      { ...kitSettings({ port: 8083 }), ...settings },
      {
        INVENTORY_SEED_FILE: join(dir, 'absent.json'),
      },
    );
    const kit = testKit('inventory');
    const built = await definition.build({
      config,
      logger: kit.logger,
      metrics: kit.metrics,
      health: kit.health,
      host: {},
    });
    await request(built.app).get('/stock/kettle').expect(404);
    for (const c of built.closers ?? []) await c.close();
  });
});
