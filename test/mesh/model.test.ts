import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';
import { servicePolicy, trafficModel } from '@meshmart/mesh/model.ts';

describe('mesh/model', () => {
  it('when built with no options, then every catalogue service has one version v1 at weight 100 in namespace meshmart', () => {
    const model = trafficModel();
    expect(model.namespace).to.equal('meshmart');
    expect(model.services.map((s) => s.name)).to.deep.equal(catalogue.map((s) => s.name));
    for (const s of model.services) expect(s.versions).to.deep.equal([{ version: 'v1', weight: 100 }]);
    expect(model.tls.mode).to.equal('disabled');
  });

  it('when built, then the edges are exactly the dependsOn lists plus the ingress into the public service', () => {
    const model = trafficModel();
    const expected = [
      'ingress->gateway',
      ...catalogue.flatMap((s) => s.dependsOn.map((d) => `${s.name}->${d}`)),
    ];
    expect(model.edges.map((e) => `${e.from}->${e.to}`)).to.deep.equal(expected);
    expect(model.ingress).to.deep.equal({ service: 'gateway', port: 8080 });
    // catalog's callers are the services whose dependsOn names it (gateway and cart today)
    const catalogCallers = catalogue.filter((s) => s.dependsOn.includes('catalog')).map((s) => s.name);
    expect(catalogCallers).to.include.members(['gateway', 'cart']);
    expect(servicePolicy(model, 'catalog').callers).to.deep.equal(catalogCallers);
    expect(servicePolicy(model, 'gateway').callers).to.deep.equal([]);
  });

  it('when a service has no idempotent writes, then GETs are retried and writes are not', () => {
    const cart = servicePolicy(trafficModel(), 'cart');
    expect(cart.routes.map((r) => r.name)).to.deep.equal(['reads', 'writes']);
    const [reads, writes] = cart.routes;
    expect(reads.match.method).to.equal('GET');
    expect(reads.retry).to.deep.include({ maxRetries: 2, perTryTimeoutMs: 700 });
    expect(reads.retry!.events).to.include.members(['server-error', 'gateway-error', 'connection-error']);
    expect(writes.retry).to.equal(undefined);
  });

  it('when a service takes Idempotency-Keys (payments), then writes carrying the header are retried before other writes', () => {
    const payments = servicePolicy(trafficModel(), 'payments');
    expect(payments.routes.map((r) => r.name)).to.deep.equal(['reads', 'idempotent-writes', 'writes']);
    expect(payments.routes[1].match.headers).to.deep.equal([{ name: 'idempotency-key', present: true }]);
    expect(payments.routes[1].retry).to.not.equal(undefined);
    expect(payments.routes[1].timeoutMs).to.equal(8_000);
  });

  it('when built, then health checks use the kit readiness endpoint on the service port', () => {
    const inventory = servicePolicy(trafficModel(), 'inventory');
    expect(inventory.healthCheck).to.deep.include({ path: '/healthz/ready', port: 8083 });
    expect(inventory.outlierDetection.maxServerErrors).to.be.greaterThan(0);
    expect(inventory.connectionPool.maxConnections).to.be.greaterThan(0);
  });

  it('when a canary takes 10 percent of catalog, then v1 keeps 90 and v2 gets 10', () => {
    const model = trafficModel({ canaries: [{ service: 'catalog', version: 'v2', weight: 10 }] });
    expect(servicePolicy(model, 'catalog').versions).to.deep.equal([
      { version: 'v1', weight: 90 },
      { version: 'v2', weight: 10 },
    ]);
    expect(servicePolicy(model, 'cart').versions).to.have.length(1);
  });

  it('when overrides change a timeout and TLS, then the model carries them and keeps the rest', () => {
    const model = trafficModel({
      tls: { mode: 'strict' },
      services: { cart: { readTimeoutMs: 900, retry: { perTryTimeoutMs: 300 } } },
    });
    const reads = servicePolicy(model, 'cart').routes[0];
    expect(reads.timeoutMs).to.equal(900);
    expect(reads.retry!.perTryTimeoutMs).to.equal(300);
    expect(reads.retry!.maxRetries).to.equal(2);
    expect(model.tls).to.deep.equal({ mode: 'strict', trustDomain: 'meshmart.local' });
  });

  it('when built, then the model is frozen', () => {
    const model = trafficModel();
    expect(Object.isFrozen(model.services[0].versions)).to.equal(true);
  });

  const invalid: [string, Parameters<typeof trafficModel>[0], RegExp][] = [
    [
      'explicit weights do not sum to 100',
      {
        services: {
          catalog: {
            versions: [
              { version: 'v1', weight: 60 },
              { version: 'v2', weight: 30 },
            ],
          },
        },
      },
      /catalog: weights sum to 90 .*make them sum to 100/,
    ],
    [
      'a weight is above 100',
      {
        services: {
          catalog: {
            versions: [
              { version: 'v1', weight: 200 },
              { version: 'v2', weight: -100 },
            ],
          },
        },
      },
      /weight 200 of version 'v1' must be a whole number from 0 to 100/,
    ],
    [
      'canaries take more than 100',
      {
        canaries: [
          { service: 'cart', version: 'v2', weight: 70 },
          { service: 'cart', version: 'v3', weight: 40 },
        ],
      },
      /cart: canary weights take 110% \(v2=70, v3=40\); lower them/,
    ],
    [
      'a service is unknown',
      { canaries: [{ service: 'shipping' as never, version: 'v2', weight: 10 }] },
      /no service 'shipping' in the catalogue; use one of gateway, catalog/,
    ],
    [
      'an override names an unknown service',
      { services: { shipping: {} } as never },
      /services.shipping: no service 'shipping'/,
    ],
    [
      'there are more than 10 targets',
      {
        services: {
          orders: {
            versions: Array.from({ length: 11 }, (_, i) => ({
              version: `v${i + 1}`,
              weight: i === 0 ? 90 : 1,
            })),
          },
        },
      },
      /orders: 11 versions; at most 10 weighted targets/,
    ],
    [
      'a version appears twice',
      {
        services: {
          audit: {
            versions: [
              { version: 'v1', weight: 50 },
              { version: 'v1', weight: 50 },
            ],
          },
        },
      },
      /version 'v1' appears twice/,
    ],
    [
      'a version is not a label',
      { canaries: [{ service: 'audit', version: 'V2_beta', weight: 5 }] },
      /version 'V2_beta' must be a short DNS-1123 label/,
    ],
    [
      'a POST route is retried without an idempotency key',
      {
        services: {
          orders: {
            routes: [
              {
                name: 'post',
                match: { method: 'POST' },
                timeoutMs: 1000,
                retry: { maxRetries: 1, perTryTimeoutMs: 500, events: ['server-error'] },
              },
            ],
          },
        },
      },
      /POST is not idempotent; retry it only on a route that matches the idempotency-key header/,
    ],
    [
      'a per-try timeout exceeds the route timeout',
      { services: { cart: { readTimeoutMs: 500 } } },
      /perTryTimeoutMs 700 exceeds the route timeout 500/,
    ],
    [
      'a health check interval is too short',
      { services: { cart: { healthCheck: { intervalMs: 1_000 } } } },
      /intervalMs 1000 must be whole seconds from 5_000/,
    ],
  ];
  for (const [what, options, message] of invalid) {
    it(`when ${what}, then construction throws naming the fix`, () => {
      expect(() => trafficModel(options)).to.throw(message);
    });
  }

  it('when a route without a method is retried without an idempotency key, then construction throws', () => {
    const route = {
      name: 'all',
      match: {},
      timeoutMs: 1000,
      retry: { maxRetries: 1, perTryTimeoutMs: 500, events: ['server-error' as const] },
    };
    expect(() => trafficModel({ services: { orders: { routes: [route] } } })).to.throw(
      /orders route 'all': any method \(POST included\) is not idempotent/,
    );
  });

  it('when several options are wrong, then one error lists every problem', () => {
    expect(() =>
      trafficModel({
        namespace: 'Bad_NS',
        canaries: [{ service: 'nope' as never, version: 'v2', weight: 10 }],
      }),
    ).to.throw(/2 problem\(s\):[\s\S]*namespace 'Bad_NS'[\s\S]*'nope'/);
  });
});
