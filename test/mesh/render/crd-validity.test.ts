import { expect } from 'chai';
import { validateCustomResource } from '@meshmart/cdk8s/validation/crd-validator.ts';
import { trafficModel } from '@meshmart/mesh/model.ts';
import { renderAppMesh } from '@meshmart/mesh/render/app-mesh.ts';
import { renderGatewayApi } from '@meshmart/mesh/render/gateway-api.ts';
import { find, principal, synth, type Manifest } from '../support.ts';

describe('mesh renderers against the CRDs (strict)', () => {
  const models = {
    default: trafficModel(),
    'canary + strict mTLS': trafficModel({
      tls: { mode: 'strict' },
      canaries: [
        { service: 'catalog', version: 'v2', weight: 10 },
        { service: 'gateway', version: 'v2', weight: 5 },
      ],
    }),
    permissive: trafficModel({ tls: { mode: 'permissive' } }),
  };

  for (const [name, model] of Object.entries(models)) {
    it(`when the ${name} model is rendered for App Mesh, then every object validates`, () => {
      const objects = synth((chart) => renderAppMesh(chart, model));
      expect(objects.length).to.be.greaterThan(20);
      expect(objects.flatMap(validateCustomResource)).to.deep.equal([]);
    });

    it(`when the ${name} model is rendered for the Gateway API, then every object validates`, () => {
      const objects = synth((chart) =>
        renderGatewayApi(chart, model, { principal, hostnameSuffix: 'meshmart.internal' }),
      );
      expect(objects.length).to.be.greaterThan(15);
      expect(objects.flatMap(validateCustomResource)).to.deep.equal([]);
    });
  }

  const appMesh = synth((chart) => renderAppMesh(chart, models['canary + strict mTLS']));
  const clone = (o: Manifest): Manifest => structuredClone(o);

  it('when a rendered Route weight is set to 200, then it is rejected', () => {
    const router = clone(find(appMesh, 'VirtualRouter', 'catalog-router'));
    router.spec.routes[0].httpRoute.action.weightedTargets[0].weight = 200;
    expect(validateCustomResource(router)).to.deep.equal([
      'VirtualRouter catalog-router: /spec/routes/0/httpRoute/action/weightedTargets/0/weight: must be <= 100',
    ]);
  });

  it('when a rendered VirtualNode gets an unknown field, then it is rejected', () => {
    const node = clone(find(appMesh, 'VirtualNode', 'cart-v1'));
    node.spec.listeners[0].circuitBreaker = { maxErrors: 5 };
    expect(validateCustomResource(node)).to.deep.equal([
      "VirtualNode cart-v1: /spec/listeners/0: unknown field 'circuitBreaker'",
    ]);
  });

  it('when a rendered health check interval drops below the App Mesh minimum, then it is rejected', () => {
    const node = clone(find(appMesh, 'VirtualNode', 'cart-v1'));
    node.spec.listeners[0].healthCheck.intervalMillis = 1000;
    expect(validateCustomResource(node).join('\n')).to.match(/intervalMillis: must be >= 5000/);
  });

  it('when a rendered TargetGroupPolicy threshold is out of range, then it is rejected', () => {
    const gw = synth((chart) => renderGatewayApi(chart, models.default, { principal }));
    const tgp = clone(find(gw, 'TargetGroupPolicy', 'cart-v1'));
    tgp.spec.healthCheck.healthyThresholdCount = 11;
    expect(validateCustomResource(tgp).join('\n')).to.match(/healthyThresholdCount: must be <= 10/);
  });

  it('when App Mesh discovery is AWS Cloud Map, then every VirtualNode names the namespace, service and version attribute, and validates strictly', () => {
    const model = models['canary + strict mTLS'];
    const objects = synth((chart) =>
      renderAppMesh(chart, model, { discovery: { kind: 'cloudMap', namespaceName: 'meshmart.local' } }),
    );
    const nodes = objects.filter((o) => o.kind === 'VirtualNode');
    expect(nodes.length).to.equal(model.services.reduce((n, s) => n + s.versions.length, 0));
    for (const node of nodes) {
      const discovery = node.spec.serviceDiscovery;
      expect(Object.keys(discovery), node.metadata.name).to.deep.equal(['awsCloudMap']);
      const service = node.metadata.labels['app.kubernetes.io/name'];
      expect(discovery.awsCloudMap).to.deep.equal({
        namespaceName: 'meshmart.local',
        serviceName: service,
        attributes: [
          { key: 'app.kubernetes.io/version', value: node.metadata.labels['app.kubernetes.io/version'] },
        ],
      });
    }
    expect(
      find(objects, 'VirtualNode', 'catalog-v2').spec.serviceDiscovery.awsCloudMap.attributes[0].value,
    ).to.equal('v2');
    expect(objects.flatMap(validateCustomResource)).to.deep.equal([]);
    // The strict check catches what the controller would refuse: an unknown field, an empty attribute value.
    const node = clone(nodes[0]);
    node.spec.serviceDiscovery.awsCloudMap.namespace = 'meshmart.local';
    expect(validateCustomResource(node).join('\n')).to.match(/namespace/);
    const empty = clone(nodes[0]);
    empty.spec.serviceDiscovery.awsCloudMap.attributes[0].value = '';
    expect(validateCustomResource(empty)).to.have.length.greaterThan(0);
  });

  it('when the Cloud Map namespace is not a namespace name, then rendering fails naming the fix', () => {
    expect(() =>
      synth((chart) =>
        renderAppMesh(chart, trafficModel(), { discovery: { kind: 'cloudMap', namespaceName: 'bad name/' } }),
      ),
    ).to.throw(/Cloud Map namespaceName 'bad name\/'.*e\.g\. 'meshmart\.local'/);
  });
});
