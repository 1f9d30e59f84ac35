import { Testing } from 'cdk8s';
import { expect } from 'chai';
import { Datastore, mongoDb, redis } from '@meshmart/cdk8s/constructs/datastore.ts';
import { MeshmartNamespace } from '@meshmart/cdk8s/constructs/namespace.ts';
import { MeshIngressGateway } from '@meshmart/cdk8s/constructs/mesh-ingress-gateway.ts';
import { testChart } from '../support.ts';

describe('cdk8s Datastore, MeshmartNamespace, MeshIngressGateway', () => {
  it('when MongoDB and Redis are built, then each is a one-replica StatefulSet with a claim, a headless Service and restricted pods', () => {
    const chart = testChart();
    const m = mongoDb(chart, 'data');
    redis(chart, 'data');
    expect(m.host).to.equal('mongodb.data.svc.cluster.local');
    const objects = Testing.synth(chart);
    for (const name of ['mongodb', 'redis']) {
      const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === name);
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === name);
      expect(svc.spec.clusterIP).to.equal('None');
      expect(sts.spec.serviceName).to.equal(name);
      expect(sts.spec.volumeClaimTemplates[0].metadata.name).to.equal('data');
      const c = sts.spec.template.spec.containers[0];
      expect(c.securityContext).to.include({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(c.securityContext.runAsUser).to.equal(999);
      expect(c.image).to.match(/:\d+\.\d+\.\d+$/);
    }
  });

  it('when a datastore image is not pinned to x.y.z, then construction throws naming the fix', () => {
    expect(
      () =>
        new Datastore(testChart(), 'x', {
          name: 'mongodb',
          namespace: 'data',
          image: 'mongo:7',
          port: 27017,
          dataPath: '/data/db',
          runAsUser: 999,
          readinessCommand: ['true'],
          resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
        }),
    ).to.throw(/Datastore mongodb: .*exact version/);
  });

  it('when a namespace is built, then it carries Pod Security enforce/audit/warn labels and the extras', () => {
    const chart = testChart();
    new MeshmartNamespace(chart, 'ns', { name: 'shop', enforce: 'baseline', labels: { mesh: 'on' } });
    const labels = Testing.synth(chart)[0].metadata.labels;
    expect(labels).to.include({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      mesh: 'on',
    });
  });

  it('when a namespace name is not a DNS label, then construction throws naming the rule', () => {
    expect(() => new MeshmartNamespace(testChart(), 'ns', { name: 'Shop_1' })).to.throw(/DNS-1123/);
  });

  it('when the App Mesh ingress gateway is built, then Envoy runs hardened behind an internet-facing NLB', () => {
    const chart = testChart();
    new MeshIngressGateway(chart, 'gw', { name: 'edge', namespace: 'shop', port: 8088 });
    const objects = Testing.synth(chart);
    const d = objects.find((o) => o.kind === 'Deployment');
    expect(d.spec.template.metadata.labels['app.kubernetes.io/name']).to.equal('edge');
    expect(d.spec.template.spec.containers[0].securityContext.runAsUser).to.equal(1337);
    const svc = objects.find((o) => o.kind === 'Service');
    expect(svc.spec.type).to.equal('LoadBalancer');
    expect(svc.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).to.equal(
      'internet-facing',
    );
    expect(
      () => new MeshIngressGateway(testChart(), 'gw', { name: 'edge', namespace: 'shop', port: 80 }),
    ).to.throw(/use a port >= 1024/);
  });
});
