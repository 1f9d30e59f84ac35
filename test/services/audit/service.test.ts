import { expect } from 'chai';
import request from 'supertest';
import { kitSettings, loadConfig, type Closer } from '@meshmart/kit';
import { InMemoryEventBus } from '@meshmart/kit/events';
import { definition } from '../../../services/audit/src/service.ts';
import { testenv } from '../../support/testenv.ts';
import { eachBackend, eventually, testKit, uniqueName } from '../../support/stores.ts';
import { paymentEvent } from './audit-events.ts';

eachBackend('audit service definition', (backend) => {
  let closers: readonly Closer[] = [];
  afterEach(async () => {
    for (const c of closers) await c.close();
    closers = [];
  });

  describe('when built from settings with a host bus', () => {
    it('then it consumes every topic into the chain and the app serves it', async () => {
      const database = uniqueName('test_audit_svc');
      const env = backend === 'real' ? { MONGO_URL: testenv('MONGO_URL'), MONGO_DATABASE: database } : {};
      const config = loadConfig(
        'audit',
        { ...kitSettings({ port: definition.defaultPort }), ...definition.settings },
        env,
      );
      const bus = new InMemoryEventBus({ source: 'host' });
      const built = await definition.build({ ...testKit('audit'), config, host: { bus } });
      closers = [
        ...(built.closers ?? []),
        { name: 'bus', close: () => bus.close() },
        ...(backend === 'real' ? [{ name: 'drop', close: () => dropDatabase(database) }] : []),
      ];
      await bus.publish('payments.events', paymentEvent(1));
      await bus.publish('gateway.user-actions', {
        type: 'UserAction',
        data: {
          actor: 'bob',
          action: 'view',
          resource: 'order/o-7',
          method: 'GET',
          path: '/api/v1/orders/o-7',
          status: 200,
          at: new Date().toISOString(),
        },
      });
      await eventually(
        async () => (await request(built.app).get('/audit').expect(200)).body.total === 2,
        'two records',
      );
      expect((await request(built.app).get('/audit?actor=bob').expect(200)).body.items[0]).to.include({
        resource: 'order/o-7',
        action: 'UserAction',
      });
      await request(built.app).get('/audit/verify').expect(200, { ok: true, records: 2 });
      const metrics = (await request(built.app).get('/metrics').expect(200)).text;
      expect(metrics).to.match(/audit_records_total\{[^}]*topic="payments.events"[^}]*\} 1/);
    });
  });
});

async function dropDatabase(name: string): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(testenv('MONGO_URL'));
  await client.connect();
  await client.db(name).dropDatabase();
  await client.close();
}
