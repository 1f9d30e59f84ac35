import { expect } from 'chai';
import { catalogue, service, type ServiceName } from '@meshmart/catalogue';
import { trafficModel } from '@meshmart/mesh/model.ts';
import {
  latticeNamespaceLabels,
  renderGatewayApi,
  type NotCarriedReport,
} from '@meshmart/mesh/render/gateway-api.ts';
import { find, ofKind, principal, synth } from '../support.ts';

describe('mesh/render/gateway-api', () => {
  /** The catalogue's callers of a service (those whose dependsOn names it), in catalogue order. */
  const callersOf = (name: ServiceName): string[] =>
    catalogue.filter((s) => s.dependsOn.includes(name)).map((s) => s.name);
  const called = catalogue.filter((s) => callersOf(s.name as ServiceName).length > 0).map((s) => s.name);
  const catalogPort = service('catalog').port;
  const canary = trafficModel({ canaries: [{ service: 'catalog', version: 'v2', weight: 10 }] });
  let report: NotCarriedReport | undefined;
  const objects = synth((chart) => {
    report = renderGatewayApi(chart, canary, { principal });
  });

  it('when rendered, then the Gateway is the Lattice service network with an HTTP listener', () => {
    const gw = find(objects, 'Gateway', 'meshmart');
    expect(gw.spec.gatewayClassName).to.equal('amazon-vpc-lattice');
    expect(gw.spec.listeners).to.deep.equal([{ name: 'http', protocol: 'HTTP', port: 80 }]);
    expect(latticeNamespaceLabels()).to.deep.equal({
      'application-networking.k8s.aws/pod-readiness-gate-inject': 'enabled',
    });
  });

  it('when catalog has a v2 canary at 10, then every HTTPRoute rule weights catalog-v1 90 and catalog-v2 10', () => {
    const route = find(objects, 'HTTPRoute', 'catalog');
    expect(route.spec.parentRefs).to.deep.equal([
      { name: 'meshmart', namespace: 'meshmart', sectionName: 'http' },
    ]);
    for (const rule of route.spec.rules) {
      expect(rule.backendRefs).to.deep.equal([
        { kind: 'Service', name: 'catalog-v1', port: catalogPort, weight: 90 },
        { kind: 'Service', name: 'catalog-v2', port: catalogPort, weight: 10 },
      ]);
    }
  });

  it('when rendered, then each rule has one match (path prefix and method) and the route timeout', () => {
    const rules = find(objects, 'HTTPRoute', 'cart').spec.rules;
    expect(rules).to.have.length(2);
    expect(rules[0].matches).to.deep.equal([{ path: { type: 'PathPrefix', value: '/' }, method: 'GET' }]);
    expect(rules[0].timeouts).to.deep.equal({ request: '2000ms' });
    expect(rules[1].matches).to.deep.equal([{ path: { type: 'PathPrefix', value: '/' } }]);
  });

  it('when a route matches a header by presence, then the rule is left out and reported', () => {
    const rules = find(objects, 'HTTPRoute', 'payments').spec.rules;
    expect(rules).to.have.length(2);
    const item = report!.items.find((i) => i.service === 'payments' && i.route === 'idempotent-writes');
    expect(item?.policy).to.equal("header match 'idempotency-key' present");
    const retries = report!.items.find(
      (i) => i.service === 'payments' && i.route === 'idempotent-writes' && i.policy.startsWith('retries'),
    );
    expect(retries?.policy).to.equal('retries: 2 x 2500 ms on server-error, gateway-error, connection-error');
    expect(retries?.enforcedBy).to.contain('`UPSTREAM_PAYMENTS_WRITE_RETRIES=2`');
  });

  it('when rendered, then TargetGroupPolicy health checks are in seconds on each version Service', () => {
    const tgp = find(objects, 'TargetGroupPolicy', 'catalog-v2');
    expect(tgp.spec.targetRef).to.deep.equal({ group: '', kind: 'Service', name: 'catalog-v2' });
    expect(tgp.spec.healthCheck).to.deep.include({
      path: '/healthz/ready',
      port: catalogPort,
      intervalSeconds: 10,
      timeoutSeconds: 2,
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 3,
    });
    // One per version Service: v1 of every service, and catalog's v2 canary.
    expect(ofKind(objects, 'TargetGroupPolicy').map((o) => o.metadata.name)).to.have.members([
      ...catalogue.map((s) => `${s.name}-v1`),
      'catalog-v2',
    ]);
  });

  it('when rendered, then each IAMAuthPolicy allows exactly the callers of its service', () => {
    expect(called).to.not.be.empty;
    expect(ofKind(objects, 'IAMAuthPolicy').map((o) => o.metadata.name)).to.have.members(called);
    for (const name of called) {
      const policy = JSON.parse(find(objects, 'IAMAuthPolicy', name).spec.policy);
      expect(policy.Statement, name).to.have.length(1);
      expect(policy.Statement[0].Principal.AWS, name).to.deep.equal(
        callersOf(name as ServiceName).map(principal),
      );
      expect(policy.Statement[0].Action, name).to.equal('vpc-lattice-svcs:Invoke');
    }
    expect(find(objects, 'IAMAuthPolicy', 'catalog').spec.targetRef).to.deep.equal({
      group: 'gateway.networking.k8s.io',
      kind: 'HTTPRoute',
      name: 'catalog',
    });
  });

  it('when nobody in the mesh calls the public service, then it gets no HTTPRoute and its ingress is reported', () => {
    expect(objects.some((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'gateway')).to.equal(false);
    const item = report!.items.find((i) => i.service === 'gateway' && /ingress/.test(i.policy));
    expect(item?.enforcedBy).to.match(/ALB\/NLB/);
  });

  it('when rendered, then retries, per-route timeouts, outlier detection and connection pool are reported with the client env vars', () => {
    const cart = report!.items.filter((i) => i.service === 'catalog');
    const retries = cart.find((i) => i.route === 'reads' && i.policy.startsWith('retries'));
    expect(retries?.policy).to.equal('retries: 2 x 300 ms on server-error, gateway-error, connection-error');
    expect(retries?.enforcedBy)
      .to.contain('`UPSTREAM_CATALOG_RETRIES=2`')
      .and.contain(`of ${callersOf('catalog').join(', ')}`);
    const timeout = cart.find((i) => i.route === 'reads' && i.policy.startsWith('timeout'));
    expect(timeout?.enforcedBy).to.contain('`UPSTREAM_CATALOG_TIMEOUT_MS=1000`');
    expect(cart.find((i) => i.policy.startsWith('outlier detection'))?.enforcedBy).to.contain(
      'BREAKER_FAILURE_THRESHOLD=5',
    );
    expect(cart.find((i) => i.policy.startsWith('connection pool'))?.enforcedBy).to.contain(
      'UPSTREAM_CATALOG_CONNECTIONS=64',
    );
    expect(cart.some((i) => i.policy.startsWith('TLS'))).to.equal(false);
  });

  it('when TLS is strict, then the missing mTLS is reported for each service', () => {
    const strict = synth((chart) => {
      report = renderGatewayApi(chart, trafficModel({ tls: { mode: 'strict' } }), { principal });
    });
    expect(strict.length).to.be.greaterThan(0);
    // Every service another one calls; the public one, which none calls, has no mesh traffic to encrypt.
    expect(
      report!.items.filter((i) => i.policy.startsWith('TLS strict')).map((i) => i.service),
    ).to.deep.equal(called);
  });

  it('when rendered as Markdown, then the report has a section and a table row per item', () => {
    const r = synthReport();
    expect(r.markdown).to.match(/^# What VPC Lattice does not carry/);
    expect(r.markdown).to.contain('## catalog');
    const rows = r.markdown.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| route '));
    expect(rows).to.have.length(r.items.length);
    expect(r.markdown).to.contain(`${r.items.length} policies not carried by Lattice.`);
  });

  function synthReport(): NotCarriedReport {
    let r: NotCarriedReport | undefined;
    synth((chart) => {
      r = renderGatewayApi(chart, canary, { principal });
    });
    return r!;
  }
});
