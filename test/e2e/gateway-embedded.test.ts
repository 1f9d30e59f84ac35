import { expect } from 'chai';
import type { HostedSystem } from '@meshmart/kit';
import type { InMemoryEventBus } from '@meshmart/kit/events';
import { startEmbeddedSystem } from '../support/embedded-system.ts';
import { shopperJourneys } from '../load/support/journeys.ts';
import { call } from './support/real-system.ts';

// The embedded default of `make start`, gateway included: every service in this process, in-memory stores, one
// in-process event bus; the shopper only ever talks to the gateway.
describe('the shop through the gateway, whole system in one process with in-memory stores', function () {
  this.timeout(60000);
  let system: HostedSystem;
  let bus: InMemoryEventBus;
  let urls: Readonly<Record<string, string>>;

  before(async () => {
    ({ system, bus, urls } = await startEmbeddedSystem({ LOAD_USERS: '10' }));
    expect(urls.gateway, 'the gateway is part of the system').to.be.a('string');
  });
  after(async () => {
    await system?.shutdown('test over');
    await bus?.close();
  });

  it('when the browser opens the gateway, then it gets the web UI and the API docs', async () => {
    const page = await call(urls.gateway, 'GET', '/');
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/text\/html/);
    expect((await call(urls.gateway, 'GET', '/docs')).status).to.equal(200);
    const openapi = await call(urls.gateway, 'GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths)).to.include('/api/v1/checkout');
  });

  shopperJourneys(() => urls.gateway, 25);
});
