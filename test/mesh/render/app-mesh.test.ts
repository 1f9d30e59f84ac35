import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';
import { trafficModel } from '@meshmart/mesh/model.ts';
import {
  appMeshNamespaceLabels,
  appMeshPodAnnotations,
  renderAppMesh,
} from '@meshmart/mesh/render/app-mesh.ts';
import { find, ofKind, synth } from '../support.ts';

describe('mesh/render/app-mesh', () => {
  const canary = trafficModel({ canaries: [{ service: 'catalog', version: 'v2', weight: 10 }] });
  const objects = synth((chart) => renderAppMesh(chart, canary));

  it('when rendered, then there is one Mesh selecting the labelled namespace, leaving egress to the NetworkPolicies', () => {
    const mesh = find(objects, 'Mesh', 'meshmart');
    expect(mesh.metadata.namespace).to.equal(undefined);
    expect(mesh.spec.namespaceSelector.matchLabels).to.deep.equal({ 'appmesh.k8s.aws/mesh': 'meshmart' });
    expect(mesh.spec.egressFilter.type).to.equal('ALLOW_ALL');
    expect(appMeshNamespaceLabels()).to.deep.equal({
      'appmesh.k8s.aws/sidecarInjectorWebhook': 'enabled',
      'appmesh.k8s.aws/mesh': 'meshmart',
    });
  });

  it('when egress is DROP_ALL, then the Mesh drops undeclared egress and pods can exempt datastore ports', () => {
    const strict = synth((chart) => renderAppMesh(chart, canary, { egressFilter: 'DROP_ALL' }));
    expect(find(strict, 'Mesh', 'meshmart').spec.egressFilter.type).to.equal('DROP_ALL');
    expect(appMeshPodAnnotations([6379, 27017, 4318, 6379])).to.deep.equal({
      'appmesh.k8s.aws/egressIgnoredPorts': '4318,6379,27017',
    });
  });

  it('when catalog has a v2 canary at 10, then its Routes send 90 to catalog-v1 and 10 to catalog-v2', () => {
    const router = find(objects, 'VirtualRouter', 'catalog-router');
    for (const route of router.spec.routes) {
      expect(route.httpRoute.action.weightedTargets).to.deep.equal([
        { virtualNodeRef: { name: 'catalog-v1' }, weight: 90, port: 8081 },
        { virtualNodeRef: { name: 'catalog-v2' }, weight: 10, port: 8081 },
      ]);
    }
    const v2 = find(objects, 'VirtualNode', 'catalog-v2');
    expect(v2.spec.podSelector.matchLabels).to.deep.equal({
      'app.kubernetes.io/name': 'catalog',
      'app.kubernetes.io/version': 'v2',
    });
    expect(v2.spec.serviceDiscovery.dns.hostname).to.equal('catalog-v2.meshmart.svc.cluster.local');
    expect(ofKind(objects, 'VirtualNode').map((n) => n.metadata.name)).to.include.members([
      'catalog-v1',
      'catalog-v2',
      'cart-v1',
    ]);
  });

  it('when rendered, then GET routes retry on 5xx, gateway and connection errors with a per-try timeout, and writes do not retry', () => {
    const router = find(objects, 'VirtualRouter', 'cart-router');
    const [reads, writes] = router.spec.routes;
    expect(reads.name).to.equal('reads');
    expect(reads.priority).to.be.lessThan(writes.priority);
    expect(reads.httpRoute.match).to.deep.equal({ prefix: '/', method: 'GET' });
    expect(reads.httpRoute.retryPolicy).to.deep.equal({
      maxRetries: 2,
      perRetryTimeout: { unit: 'ms', value: 700 },
      httpRetryEvents: ['server-error', 'gateway-error'],
      tcpRetryEvents: ['connection-error'],
    });
    expect(reads.httpRoute.timeout).to.deep.equal({ perRequest: { unit: 'ms', value: 2000 } });
    expect(writes.httpRoute.retryPolicy).to.equal(undefined);
    expect(writes.httpRoute.timeout.perRequest.value).to.equal(5000);
  });

  it('when payments takes idempotency keys, then only writes carrying the header are retried', () => {
    const routes = find(objects, 'VirtualRouter', 'payments-router').spec.routes;
    const keyed = routes.find((r: any) => r.name === 'idempotent-writes');
    expect(keyed.httpRoute.match.headers).to.deep.equal([
      { name: 'idempotency-key', match: { regex: '.+' } },
    ]);
    expect(keyed.httpRoute.retryPolicy.perRetryTimeout.value).to.equal(2500);
  });

  it('when rendered, then each VirtualNode has listener health check, outlier detection, pool, timeout and its dependencies as backends', () => {
    const checkout = find(objects, 'VirtualNode', 'checkout-v1');
    const [listener] = checkout.spec.listeners;
    expect(listener.portMapping).to.deep.equal({ port: 8086, protocol: 'http' });
    expect(listener.healthCheck).to.deep.include({
      path: '/healthz/ready',
      protocol: 'http',
      intervalMillis: 10000,
    });
    expect(listener.outlierDetection.maxServerErrors).to.equal(5);
    expect(listener.connectionPool.http.maxConnections).to.equal(64);
    expect(listener.timeout.http.perRequest).to.deep.equal({ unit: 'ms', value: 15000 });
    expect(listener.tls).to.equal(undefined);
    expect(checkout.spec.backends.map((b: any) => b.virtualService.virtualServiceRef.name)).to.deep.equal([
      'cart',
      'inventory',
      'payments',
      'orders',
    ]);
    expect(find(objects, 'VirtualNode', 'audit-v1').spec.backends).to.deep.equal([]);
  });

  it('when rendered, then each VirtualService is provided by its router under the in-cluster host name', () => {
    const vs = find(objects, 'VirtualService', 'orders');
    expect(vs.spec.awsName).to.equal('orders.meshmart.svc.cluster.local');
    expect(vs.spec.provider.virtualRouter.virtualRouterRef.name).to.equal('orders-router');
  });

  it('when rendered, then the ingress VirtualGateway routes everything to the public service', () => {
    const vg = find(objects, 'VirtualGateway', 'meshmart-ingress');
    expect(vg.spec.listeners[0].portMapping).to.deep.equal({ port: 8088, protocol: 'http' });
    const gr = find(objects, 'GatewayRoute', 'meshmart-ingress-to-gateway');
    expect(gr.metadata.labels['appmesh.k8s.aws/gateway']).to.equal('meshmart-ingress');
    expect(vg.spec.gatewayRouteSelector.matchLabels).to.deep.equal({
      'appmesh.k8s.aws/gateway': 'meshmart-ingress',
    });
    expect(gr.spec.httpRoute.action.target.virtualService.virtualServiceRef.name).to.equal('gateway');
  });

  it('when TLS is strict, then listeners require mTLS and accept only the callers identities', () => {
    const strict = synth((chart) => renderAppMesh(chart, trafficModel({ tls: { mode: 'strict' } })));
    const catalog = find(strict, 'VirtualNode', 'catalog-v1');
    const tls = catalog.spec.listeners[0].tls;
    expect(tls.mode).to.equal('STRICT');
    // catalog's callers are the services whose dependsOn names it (gateway and cart today)
    const callers = catalogue.filter((s) => s.dependsOn.includes('catalog')).map((s) => s.name);
    expect(callers).to.include.members(['gateway', 'cart']);
    expect(tls.validation.subjectAlternativeNames.match.exact).to.deep.equal(
      callers.map((c) => `spiffe://meshmart.local/ns/meshmart/sa/${c}`),
    );
    expect(find(strict, 'VirtualNode', 'cart-v1').spec.backendDefaults.clientPolicy.tls.enforce).to.equal(
      true,
    );
    expect(
      find(strict, 'VirtualNode', 'gateway-v1').spec.listeners[0].tls.validation.subjectAlternativeNames.match
        .exact,
    ).to.deep.equal(['spiffe://meshmart.local/ns/meshmart/sa/meshmart-ingress']);
  });

  it('when synthesized twice, then the output is identical', () => {
    const again = synth((chart) => renderAppMesh(chart, canary));
    expect(JSON.stringify(again)).to.equal(JSON.stringify(objects));
  });

  it('when the ingress gateway name collides with a service, then rendering throws naming the fix', () => {
    expect(() => synth((chart) => renderAppMesh(chart, canary, { ingressGatewayName: 'cart' }))).to.throw(
      /ingressGatewayName 'cart' collides with a service; choose another name/,
    );
  });
});
