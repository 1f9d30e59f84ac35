import { expect } from 'chai';
import { shopperJourneys } from '../load/support/journeys.ts';
import { call, startRealSystem, type RealSystem } from './support/real-system.ts';

// Every service in its own process against real Redis and FerretDB (a Redis key prefix and databases unique to the
// run); the shopper only ever talks to the gateway, whose rate limits and cache live in Redis.
describe('the shop through the gateway, every service its own process with real Redis and FerretDB', function () {
  this.timeout(90000);
  let system: RealSystem;

  before(async function () {
    this.timeout(200000);
    system = await startRealSystem({ env: { LOAD_USERS: '10' } });
  });
  after(async () => system?.close());

  it('when the gateway has started, then it is ready and its keys live under the run prefix', async () => {
    expect((await call(system.url('gateway'), 'GET', '/healthz/ready')).status).to.equal(200);
    await call(system.url('gateway'), 'POST', '/api/v1/auth/token', { username: 'alice', password: 'alice' });
    await call(system.url('gateway'), 'GET', '/api/v1/products?limit=3');
    const [, keys] = await system.redis.scan('0', 'MATCH', `${system.redisPrefix}*`, 'COUNT', 1000);
    expect(keys.length).to.be.greaterThan(0);
  });

  shopperJourneys(() => system.url('gateway'), 10);
});
