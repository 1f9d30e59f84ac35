import type { RequestListener } from 'node:http';
import { expect } from 'chai';
import request from 'supertest';
import { hostServices, type AnyServiceDefinition, type HostedSystem } from '@meshmart/kit';
import { definition as audit } from '../../services/audit/src/service.ts';
import { definition as cart } from '../../services/cart/src/service.ts';
import { definition as catalog } from '../../services/catalog/src/service.ts';
import { definition as checkout } from '../../services/checkout/src/service.ts';
import { definition as inventory } from '../../services/inventory/src/service.ts';
import { definition as orders } from '../../services/orders/src/service.ts';
import { definition as payments } from '../../services/payments/src/service.ts';
import { auditFixture } from '../services/audit/audit-fixture.ts';
import { cartHarness } from '../services/cart/harness.ts';
import { catalogHarness } from '../services/catalog/catalog-harness.ts';
import { checkoutOn, sagaStore, seededParticipants } from '../services/checkout/harness.ts';
import { inventoryHarness } from '../services/inventory/harness.ts';
import { openHarness } from '../services/orders/harness.ts';
import { paymentsFixture } from '../services/payments/payments-fixture.ts';

interface Harness {
  readonly app: RequestListener;
  close(): Promise<void>;
}

/** Each service's test harness, next to the definition its main.ts runs. */
const services: readonly [AnyServiceDefinition, () => Promise<Harness>][] = [
  [audit, () => auditFixture('memory')],
  [cart, () => cartHarness('memory')],
  [catalog, () => catalogHarness('memory')],
  [
    checkout,
    async () => {
      const store = await sagaStore('memory');
      const c = await checkoutOn(store.repository, seededParticipants());
      return {
        app: c.app,
        close: async () => {
          await c.close();
          await store.close();
        },
      };
    },
  ],
  [inventory, () => inventoryHarness('memory')],
  [orders, () => openHarness('memory')],
  [payments, () => paymentsFixture('memory')],
];

describe('one composition root per service: its tests build what its main.ts runs', function () {
  this.timeout(30_000);
  let system: HostedSystem;
  before(async function () {
    // What main.ts (runService) and make start (hostServices) run: the definitions, booted by the kit.
    const ports = Object.fromEntries(services.map(([d]) => [`${d.service.toUpperCase()}_PORT`, '0']));
    system = await hostServices(
      services.map(([d]) => d),
      { env: { ...ports, LOG_LEVEL: 'silent', TRACING: 'off', INVENTORY_SEED: 'false' } },
    );
  });
  after(async function () {
    await system.shutdown('test over');
  });

  for (const [definition, harness] of services) {
    it(`when the ${definition.service} harness is built, then it serves the operations, metrics and answers of the running service`, async function () {
      const hosted = system.services.find((s) => s.service === definition.service)!;
      const running = (await (await fetch(`${hosted.running.url}/openapi.json`)).json()) as { paths: object };
      const h = await harness();
      try {
        const built = await request(h.app).get('/openapi.json').expect(200);
        expect(Object.keys(running.paths)).to.not.be.empty;
        expect(built.body).to.deep.equal(running);
        const names = (text: string) => [...text.matchAll(/^# HELP (\S+)/gm)].map((m) => m[1]).sort();
        const hostedMetrics = names(await (await fetch(`${hosted.running.url}/metrics`)).text());
        const builtMetrics = names((await request(h.app).get('/metrics').expect(200)).text);
        // What the build declares, but the bus's (the harness's, as host) and the HTTP clients' (in-memory stand-ins).
        const substituted = /^(events?_|http_client_)/;
        expect(builtMetrics).to.include.members(hostedMetrics.filter((n) => !substituted.test(n)));
        const unknown = await request(h.app).get('/no-such-route').expect(404);
        const hostedUnknown = await fetch(`${hosted.running.url}/no-such-route`);
        expect(unknown.headers['content-type']).to.equal(hostedUnknown.headers.get('content-type'));
      } finally {
        await h.close();
      }
    });
  }
});
