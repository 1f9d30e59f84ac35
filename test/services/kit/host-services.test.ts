import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiRouter,
  ConfigError,
  createServiceApp,
  defineService,
  hostServices,
  int,
  openStores,
  PortError,
  storeSettings,
  Type,
  upstreamUrl,
  type HostedSystem,
} from '@meshmart/kit';
import { InMemoryEventBus, type EventEnvelope } from '@meshmart/kit/events';
import { eventually } from '../../support/stores.ts';

/** Two tiny services: `orders` publishes on POST, `audit` counts what it consumed. */
function definitions(seen: EventEnvelope[]) {
  const publisher = defineService({
    service: 'orders',
    defaultPort: 0,
    settings: { ...storeSettings('orders') },
    build: async (kit) => {
      const stores = await openStores({ service: 'orders', ...kit });
      const api = new ApiRouter('').route({
        method: 'post',
        path: '/orders',
        operationId: 'placeOrder',
        summary: 'Place',
        responses: { 201: { description: 'placed', schema: Type.Object({ id: Type.String() }) } },
        handler: async ({ trace }) => {
          const e = await stores.bus.publish('orders.events', {
            type: 'Placed',
            data: { id: 'o1' },
            context: trace,
          });
          return { status: 201, body: { id: e.id } };
        },
      });
      const app = createServiceApp({ service: 'orders', ...kit, routers: [api] });
      return { app, closers: stores.closers };
    },
  });
  const consumer = defineService({
    service: 'audit',
    defaultPort: 0,
    settings: {
      ...storeSettings('audit'),
      batch: int({ env: 'AUDIT_BATCH', default: 1, min: 1, doc: 'test' }),
    },
    build: async (kit) => {
      const stores = await openStores({ service: 'audit', ...kit });
      const sub = await stores.bus.subscribe({
        topic: 'orders.events',
        group: 'audit',
        handler: (e) => void seen.push(e),
      });
      const app = createServiceApp({ service: 'audit', ...kit });
      return { app, closers: [{ name: 'consumer', close: () => sub.close() }, ...stores.closers] };
    },
  });
  return [publisher, consumer];
}

describe('hostServices', () => {
  let system: HostedSystem | undefined;
  afterEach(async () => {
    await system?.shutdown('test over');
    system = undefined;
  });

  it('when one service is given a metrics port, then its /metrics is served there only, and the other keeps /metrics on its port', async () => {
    const bus = new InMemoryEventBus({ source: 'meshmart' });
    system = await hostServices(definitions([]), {
      env: {
        ORDERS_PORT: '0',
        ORDERS_METRICS_PORT: '0',
        AUDIT_PORT: '0',
        // A METRICS_PORT for the whole host would put every service on one port: it is per service only.
        METRICS_PORT: '1',
        LOG_LEVEL: 'silent',
        TRACING: 'off',
      },
      host: { bus },
    });
    const [orders, audit] = system.services.map((s) => s.running);
    expect(orders.metricsUrl).to.not.equal(`${orders.url}/metrics`);
    const scraped = await fetch(orders.metricsUrl);
    expect(scraped.status).to.equal(200);
    expect(await scraped.text()).to.contain('http_request_duration_seconds');
    const onMain = await fetch(`${orders.url}/metrics`);
    expect(onMain.status).to.equal(404);
    expect(onMain.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect((await fetch(new URL('/healthz/ready', orders.metricsUrl))).status).to.equal(404);
    expect((await fetch(`${orders.url}/healthz/ready`)).status).to.equal(200);
    expect(audit.metricsUrl).to.equal(`${audit.url}/metrics`);
    expect((await fetch(audit.metricsUrl)).status).to.equal(200);
    await bus.close();
  });

  it('when two services share the host bus, then an event published by one reaches the other', async () => {
    const seen: EventEnvelope[] = [];
    const bus = new InMemoryEventBus({ source: 'meshmart' });
    system = await hostServices(definitions(seen), {
      env: { ORDERS_PORT: '0', AUDIT_PORT: '0', LOG_LEVEL: 'silent', TRACING: 'off' },
      host: { bus },
    });
    const [orders, audit] = system.services;
    expect(orders.service).to.equal('orders');
    expect(orders.running.port).to.not.equal(audit.running.port);
    const res = await fetch(`${orders.running.url}/orders`, { method: 'POST' });
    expect(res.status).to.equal(201);
    await eventually(() => seen.length === 1, 'the audit consumer to see the event');
    expect(seen[0].source).to.equal('orders');
    const ready = await fetch(`${audit.running.url}/healthz/ready`);
    expect(ready.status).to.equal(200);
    await bus.close();
  });

  it('when services ask for port 0, then each listens on the port the kernel gave and callers get that real URL', async () => {
    const seen: EventEnvelope[] = [];
    const bus = new InMemoryEventBus({ source: 'meshmart' });
    const env: Record<string, string> = {
      ORDERS_PORT: '0',
      AUDIT_PORT: '0',
      ORDERS_URL: 'http://127.0.0.1:1', // stale: a port asked as 0 always gets its real URL
      LOG_LEVEL: 'silent',
      TRACING: 'off',
    };
    let ordersUrlSeenByCaller: string | undefined;
    const caller = defineService({
      service: 'cart',
      defaultPort: 0,
      settings: { ordersUrl: upstreamUrl('orders') },
      build: (kit) => {
        ordersUrlSeenByCaller = kit.config.ordersUrl;
        return Promise.resolve({ app: createServiceApp({ service: 'cart', ...kit }) });
      },
    });
    system = await hostServices([...definitions(seen), caller], { env, host: { bus } });
    const [orders, audit] = system.services;
    expect(ordersUrlSeenByCaller).to.equal(orders.running.url);
    for (const s of [orders, audit]) {
      expect(s.running.port).to.be.greaterThan(0);
      expect(s.running.url).to.equal(`http://127.0.0.1:${s.running.port}`);
      expect((await fetch(`${s.running.url}/healthz/live`)).status).to.equal(200);
    }
    expect(env.ORDERS_URL, 'the caller-supplied env is not mutated').to.equal('http://127.0.0.1:1');
    await bus.close();
  });

  it('when a port is taken, then the error names the service, the port and how to move it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    let error: unknown;
    try {
      system = await hostServices(definitions([]), {
        env: { ORDERS_PORT: '0', AUDIT_PORT: String(port), LOG_LEVEL: 'silent', TRACING: 'off' },
      });
    } catch (err) {
      error = err;
    } finally {
      taken.close();
    }
    expect(error).to.be.instanceOf(PortError);
    expect(String((error as Error).message)).to.match(
      new RegExp(`audit cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use.*AUDIT_PORT=`),
    );
  });

  it('when no HOST is set, then services listen on 127.0.0.1 only (containers set HOST=0.0.0.0)', async () => {
    system = await hostServices(definitions([]), {
      env: { ORDERS_PORT: '0', AUDIT_PORT: '0', LOG_LEVEL: 'silent', TRACING: 'off' },
    });
    for (const s of system.services)
      expect((s.running.server.address() as AddressInfo).address).to.equal('127.0.0.1');
  });

  it('when several services have bad settings, then every problem is reported before anything starts', async () => {
    const seen: EventEnvelope[] = [];
    let error: unknown;
    try {
      system = await hostServices(definitions(seen), {
        env: { ORDERS_PORT: 'x', AUDIT_PORT: '0', AUDIT_BATCH: '0', LOG_LEVEL: 'silent', TRACING: 'off' },
      });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).to.match(/orders: PORT/);
    expect(problems).to.match(/audit: AUDIT_BATCH/);
  });
});
