import { expect } from 'chai';
import { catalogue, service, type ServiceName } from '@meshmart/catalogue';
import { trafficModel } from '@meshmart/mesh/model.ts';
import {
  LATTICE_CIDR,
  renderNetworkPolicies,
  type NetworkPolicyOptions,
} from '@meshmart/mesh/render/network-policies.ts';
import { find, ofKind, synth, type Manifest } from '../support.ts';

const kind: NetworkPolicyOptions = {
  datastores: {
    namespace: 'meshmart-data',
    mongodb: { 'app.kubernetes.io/name': 'mongodb' },
    redis: { 'app.kubernetes.io/name': 'redis' },
  },
  metricsNamespace: 'monitoring',
  otel: { namespace: 'observability', port: 4318 },
};

/** Pod names allowed into `service`'s port by its policy's pod-selector peers. */
function allowedCallers(policy: Manifest): string[] {
  return policy.spec.ingress
    .flatMap((r: any) => r.from ?? [])
    .flatMap((p: any) =>
      p.podSelector && !p.namespaceSelector ? (p.podSelector.matchExpressions?.[0]?.values ?? []) : [],
    );
}

/** The catalogue's callers of a service (those whose dependsOn names it), in catalogue order. */
const callersOf = (name: ServiceName): string[] =>
  catalogue.filter((s) => s.dependsOn.includes(name)).map((s) => s.name);

function egressPods(policy: Manifest): string[] {
  return policy.spec.egress
    .flatMap((r: any) => r.to ?? [])
    .flatMap((p: any) =>
      p.podSelector && !p.namespaceSelector ? [p.podSelector.matchLabels['app.kubernetes.io/name']] : [],
    );
}

describe('mesh/render/network-policies', () => {
  const model = trafficModel();
  const objects = synth((chart) => renderNetworkPolicies(chart, model, kind));

  it('when rendered, then each namespace starts from a default deny of ingress and egress', () => {
    for (const ns of ['meshmart', 'meshmart-data']) {
      const deny = ofKind(objects, 'NetworkPolicy').find(
        (p) => p.metadata.name === 'default-deny' && p.metadata.namespace === ns,
      );
      expect(deny?.spec).to.deep.equal({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    }
  });

  it('when catalog is called by its catalogue callers (gateway and cart today), then exactly those may reach its port', () => {
    const catalog = find(objects, 'NetworkPolicy', 'allow-catalog');
    expect(callersOf('catalog')).to.include.members(['gateway', 'cart']);
    expect(allowedCallers(catalog)).to.deep.equal(callersOf('catalog'));
    expect(catalog.spec.ingress[0].ports).to.deep.equal([{ protocol: 'TCP', port: service('catalog').port }]);
  });

  it('when a service is not in a callers dependsOn (cart does not call payments), then that caller gets no allow to it', () => {
    expect(callersOf('payments')).to.not.include('cart');
    expect(allowedCallers(find(objects, 'NetworkPolicy', 'allow-audit'))).to.deep.equal(callersOf('audit'));
    expect(allowedCallers(find(objects, 'NetworkPolicy', 'allow-payments'))).to.deep.equal(
      callersOf('payments'),
    );
    // cart does not call payments, so its egress has no rule to payments.
    expect(egressPods(find(objects, 'NetworkPolicy', 'allow-cart'))).to.deep.equal(['catalog']);
    expect(egressPods(find(objects, 'NetworkPolicy', 'allow-checkout'))).to.deep.equal([
      'cart',
      'inventory',
      'payments',
      'orders',
    ]);
    expect(egressPods(find(objects, 'NetworkPolicy', 'allow-audit'))).to.deep.equal([]);
  });

  it('when rendered, then DNS to kube-dns on 53 UDP and TCP is allowed in every namespace', () => {
    const dns = ofKind(objects, 'NetworkPolicy').filter((p) => p.metadata.name === 'allow-dns');
    expect(dns.map((p) => p.metadata.namespace)).to.deep.equal(['meshmart', 'meshmart-data']);
    expect(dns[0].spec.egress[0].ports).to.deep.equal([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    expect(dns[0].spec.egress[0].to[0].namespaceSelector.matchLabels).to.deep.equal({
      'kubernetes.io/metadata.name': 'kube-system',
    });
  });

  it('when the public gateway serves /metrics on its metrics port, then the scraper may reach that port only', () => {
    const gateway = find(objects, 'NetworkPolicy', 'allow-gateway');
    const fromMonitoring = gateway.spec.ingress.filter((r: any) =>
      (r.from ?? []).some(
        (p: any) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
      ),
    );
    expect(fromMonitoring.flatMap((r: any) => r.ports)).to.deep.equal([{ protocol: 'TCP', port: 9080 }]);
  });

  it('when rendered, then metrics scraping and trace export are allowed, and datastores only for their users', () => {
    const orders = find(objects, 'NetworkPolicy', 'allow-orders');
    expect(orders.spec.ingress.at(-1)).to.deep.equal({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      ports: [{ protocol: 'TCP', port: 8085 }],
    });
    const egressPorts = orders.spec.egress.flatMap((r: any) => r.ports.map((p: any) => p.port));
    expect(egressPorts).to.include.members([27017, 6379, 4318]);
    const mongo = find(objects, 'NetworkPolicy', 'allow-mongodb');
    const users = mongo.spec.ingress[0].from[0].podSelector.matchExpressions[0].values;
    expect(users).to.not.include('gateway');
    expect(users).to.include('orders');
    const redis = find(objects, 'NetworkPolicy', 'allow-redis');
    expect(redis.spec.ingress[0].from[0].podSelector.matchExpressions[0].values).to.include.members([
      'gateway',
      'cart',
      'audit',
    ]);
  });

  it('when the datastores are managed (EKS), then egress goes to their ports on the VPC CIDR and no data namespace is touched', () => {
    const eks = synth((chart) =>
      renderNetworkPolicies(chart, model, {
        ...kind,
        datastores: undefined,
        externalDatastores: { cidr: '10.0.0.0/16' },
      }),
    );
    expect(eks.every((o) => o.metadata.namespace === 'meshmart')).to.equal(true);
    const catalog = find(eks, 'NetworkPolicy', 'allow-catalog');
    expect(catalog.spec.egress).to.deep.include({
      to: [{ ipBlock: { cidr: '10.0.0.0/16' } }],
      ports: [{ protocol: 'TCP', port: 27017 }],
    });
  });

  it('when the mesh is Lattice, then callers reach the Lattice data plane and services accept it', () => {
    const lattice = synth((chart) => renderNetworkPolicies(chart, model, { ...kind, mesh: 'lattice' }));
    const catalog = find(lattice, 'NetworkPolicy', 'allow-catalog');
    expect(catalog.spec.ingress[0].from).to.deep.equal([{ ipBlock: { cidr: LATTICE_CIDR } }]);
    const cart = find(lattice, 'NetworkPolicy', 'allow-cart');
    expect(cart.spec.egress[0]).to.deep.equal({
      to: [{ ipBlock: { cidr: LATTICE_CIDR } }],
      ports: [{ protocol: 'TCP', port: 80 }],
    });
    expect(allowedCallers(find(lattice, 'NetworkPolicy', 'allow-audit'))).to.deep.equal([]);
    expect(egressPods(find(lattice, 'NetworkPolicy', 'allow-checkout'))).to.deep.equal([]);
  });

  it('when migrating, then both pod-to-pod calls from the callers and Lattice traffic are allowed', () => {
    const both = synth((chart) => renderNetworkPolicies(chart, model, { ...kind, mesh: 'migration' }));
    const catalog = find(both, 'NetworkPolicy', 'allow-catalog');
    expect(allowedCallers(catalog)).to.deep.equal(callersOf('catalog'));
    expect(catalog.spec.ingress[0].from).to.deep.include({ ipBlock: { cidr: LATTICE_CIDR } });
    const cart = find(both, 'NetworkPolicy', 'allow-cart');
    expect(egressPods(cart)).to.deep.equal(['catalog']);
    expect(cart.spec.egress[0].to).to.deep.equal([{ ipBlock: { cidr: LATTICE_CIDR } }]);
    expect(both.some((o) => o.metadata.name === 'allow-meshmart-ingress')).to.equal(true);
  });

  it('when the mesh is App Mesh, then the public service accepts only the ingress gateway pods and Envoy may reach 443', () => {
    const appmesh = synth((chart) => renderNetworkPolicies(chart, model, { ...kind, mesh: 'app-mesh' }));
    const gateway = find(appmesh, 'NetworkPolicy', 'allow-gateway');
    expect(gateway.spec.ingress[0].from).to.deep.equal([
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'meshmart-ingress' } } },
    ]);
    const ingress = find(appmesh, 'NetworkPolicy', 'allow-meshmart-ingress');
    expect(ingress.spec.egress[0].ports).to.deep.equal([{ protocol: 'TCP', port: 8080 }]);
    expect(gateway.spec.egress.at(-1).ports).to.deep.equal([{ protocol: 'TCP', port: 443 }]);
  });

  it('when Lattice callers sign with SigV4, then exactly the callers may reach 443 (STS for IRSA) and leaves may not', () => {
    const https = (p: Manifest): boolean =>
      p.spec.egress.some((r: any) => r.ports?.some((port: any) => port.port === 443));
    const plain = synth((chart) => renderNetworkPolicies(chart, model, { ...kind, mesh: 'lattice' }));
    const signing = synth((chart) =>
      renderNetworkPolicies(chart, model, { ...kind, mesh: 'lattice', signingCallers: true }),
    );
    const callers = model.services.filter((s) => s.dependsOn.length > 0).map((s) => s.name);
    expect(callers).to.include.members(['gateway', 'cart', 'checkout']);
    for (const s of model.services) {
      expect(https(find(plain, 'NetworkPolicy', `allow-${s.name}`)), s.name).to.equal(false);
      expect(https(find(signing, 'NetworkPolicy', `allow-${s.name}`)), s.name).to.equal(
        callers.includes(s.name),
      );
    }
  });
});
