import { expect } from 'chai';
import request from 'supertest';
import { kitSettings, loadConfig, type Closer } from '@meshmart/kit';
import { InMemoryEventBus, type EventEnvelope } from '@meshmart/kit/events';
import { definition } from '../../../services/payments/src/service.ts';
import { testenv } from '../../support/testenv.ts';
import { eachBackend, eventually, testKit, uniqueName } from '../../support/stores.ts';

eachBackend('payments service definition', (backend) => {
  let closers: readonly Closer[] = [];
  let database: string | undefined;
  afterEach(async () => {
    for (const c of closers) await c.close();
    closers = [];
  });

  describe('when built from settings with a host bus', () => {
    it('then the app authorizes, the relay publishes the event, and chaos starts from the settings', async () => {
      database = uniqueName('test_payments_svc');
      const env = {
        CHAOS_LATENCY_MS: '1',
        CHAOS_FAILURE_RATE: '0',
        ...(backend === 'real' ? { MONGO_URL: testenv('MONGO_URL'), MONGO_DATABASE: database } : {}),
      };
      const config = loadConfig(
        'payments',
        { ...kitSettings({ port: definition.defaultPort }), ...definition.settings },
        env,
      );
      const bus = new InMemoryEventBus({ source: 'host' });
      const seen: EventEnvelope[] = [];
      await bus.subscribe({ topic: 'payments.events', group: 'observer', handler: (e) => void seen.push(e) });
      const built = await definition.build({ ...testKit('payments'), config, host: { bus } });
      closers = [
        ...(built.closers ?? []),
        { name: 'bus', close: () => bus.close() },
        ...(backend === 'real' ? [{ name: 'drop', close: () => dropDatabase(database!) }] : []),
      ];
      await request(built.app)
        .get('/chaos')
        .expect(200, { latencyMs: 1, failureRate: 0, failureStatus: 503 });
      const res = await request(built.app)
        .post('/payments/authorizations')
        .set('Idempotency-Key', 'svc-1')
        .send({ orderId: 'o-1', amountCents: 100, currency: 'USD', paymentToken: 'tok_visa' })
        .expect(201);
      await eventually(() => seen.length === 1, 'PaymentAuthorized on the host bus');
      expect(seen[0].data).to.include({ paymentId: res.body.id });
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
