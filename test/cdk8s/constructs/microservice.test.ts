import { Testing } from 'cdk8s';
import { expect } from 'chai';
import { service } from '@meshmart/catalogue';
import { Microservice, type MicroserviceProps } from '@meshmart/cdk8s/constructs/microservice.ts';
import { testChart } from '../support.ts';

const base = (overrides: Partial<MicroserviceProps> = {}): MicroserviceProps => ({
  entry: service('checkout'),
  namespace: 'shop',
  image: 'meshmart/services:1.2.3',
  ...overrides,
});

function synth(overrides: Partial<MicroserviceProps> = {}): any[] {
  const chart = testChart();
  new Microservice(chart, 'svc', base(overrides));
  return Testing.synth(chart);
}
const of = (objects: any[], kind: string, name?: string): any =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe('cdk8s Microservice', () => {
  it('when built from a catalogue entry, then it makes ServiceAccount, ConfigMap, Deployment, two Services, HPA and PDB', () => {
    const kinds = synth()
      .map((o) => o.kind)
      .sort();
    expect(kinds).to.deep.equal([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'Service',
      'Service',
      'ServiceAccount',
    ]);
  });

  it('when built, then the container is hardened the way Pod Security "restricted" requires', () => {
    const pod = of(synth(), 'Deployment').spec.template.spec;
    const c = pod.containers[0];
    expect(pod.securityContext).to.include({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.securityContext.seccompProfile.type).to.equal('RuntimeDefault');
    expect(c.securityContext).to.include({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    expect(c.securityContext.capabilities.drop).to.deep.equal(['ALL']);
    expect(c.volumeMounts).to.deep.include({ name: 'tmp', mountPath: '/tmp' });
    expect(pod.volumes.find((v: any) => v.name === 'tmp').emptyDir).to.be.an('object');
  });

  it('when built, then startup, readiness and liveness probes hit the kit health endpoints on the named port', () => {
    const c = of(synth(), 'Deployment').spec.template.spec.containers[0];
    expect(c.startupProbe.httpGet).to.deep.equal({ path: '/healthz/live', port: 'http' });
    expect(c.readinessProbe.httpGet).to.deep.equal({ path: '/healthz/ready', port: 'http' });
    expect(c.livenessProbe.httpGet).to.deep.equal({ path: '/healthz/live', port: 'http' });
    expect(c.resources.requests).to.have.keys('cpu', 'memory');
    expect(c.resources.limits).to.have.keys('cpu', 'memory');
  });

  it('when the kit delays and drains, then the grace period outlasts SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS', () => {
    const objects = synth({ shutdownDelayMs: 5000, shutdownGraceMs: 40000 });
    const pod = of(objects, 'Deployment').spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).to.be.greaterThan(45);
    expect(of(objects, 'ConfigMap').data).to.include({
      SHUTDOWN_DELAY_MS: '5000',
      SHUTDOWN_GRACE_MS: '40000',
    });
  });

  it('when built, then the pod listens on every interface (the kit alone listens on 127.0.0.1)', () => {
    expect(of(synth(), 'ConfigMap').data).to.include({ HOST: '0.0.0.0', PORT: '8086' });
    expect(() => synth({ settings: { HOST: '127.0.0.1' } })).to.throw(/settings must not set HOST/);
  });

  it('when built, then pods spread over zones and nodes and carry Prometheus scrape annotations', () => {
    const tpl = of(synth(), 'Deployment').spec.template;
    expect(tpl.spec.topologySpreadConstraints.map((t: any) => t.topologyKey)).to.deep.equal([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
    expect(tpl.metadata.annotations).to.include({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8086',
    });
  });

  it('when the entry is the public gateway, then /metrics is on a port of its own that its Services never expose', () => {
    const objects = synth({ entry: service('gateway') });
    const tpl = of(objects, 'Deployment').spec.template;
    expect(of(objects, 'ConfigMap').data).to.include({ PORT: '8080', METRICS_PORT: '9080' });
    expect(tpl.metadata.annotations).to.include({ 'prometheus.io/port': '9080' });
    expect(tpl.spec.containers[0].ports).to.deep.equal([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9080, protocol: 'TCP' },
    ]);
    for (const svc of objects.filter((o) => o.kind === 'Service'))
      expect(svc.spec.ports.map((p: any) => p.port)).to.deep.equal([8080]);
    // Internal services keep /metrics on their one port.
    expect(of(synth(), 'ConfigMap').data).to.not.have.property('METRICS_PORT');
  });

  it('when the entry has upstreams, then the ConfigMap has a <NAME>_URL for each, on cluster DNS', () => {
    const data = of(synth(), 'ConfigMap').data;
    for (const dep of service('checkout').dependsOn)
      expect(data[`${dep.toUpperCase()}_URL`]).to.equal(
        `http://${dep}.shop.svc.cluster.local:${service(dep).port}`,
      );
  });

  it('when secrets are referenced, then the env has secretKeyRefs and never the value', () => {
    const objects = synth({
      secretEnv: [{ env: 'MONGO_PASSWORD', secretName: 'db', key: 'password' }],
      composedEnv: [{ env: 'MONGO_URL', value: 'mongodb://u:$(MONGO_PASSWORD)@h:27017' }],
    });
    const env = of(objects, 'Deployment').spec.template.spec.containers[0].env;
    expect(env[0]).to.deep.equal({
      name: 'MONGO_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'db', key: 'password', optional: false } },
    });
    expect(env[1].name).to.equal('MONGO_URL');
    expect(objects.some((o) => o.kind === 'Secret')).to.equal(false);
  });

  it('when an IRSA role is given, then the ServiceAccount carries the eks.amazonaws.com/role-arn annotation', () => {
    const arn = 'arn:aws:iam::111122223333:role/x';
    expect(of(synth({ roleArn: arn }), 'ServiceAccount').metadata.annotations).to.deep.equal({
      'eks.amazonaws.com/role-arn': arn,
    });
    expect(of(synth(), 'ServiceAccount').metadata.annotations).to.equal(undefined);
  });

  it('when replicas is 1, then no PodDisruptionBudget is made', () => {
    expect(of(synth({ replicas: 1 }), 'PodDisruptionBudget')).to.equal(undefined);
  });

  it('when a canary is given, then a <service>-<version> Deployment and Service appear with the version label', () => {
    const objects = synth({ canaries: [{ version: 'v2' }] });
    const canary = of(objects, 'Deployment', 'checkout-v2');
    expect(canary.spec.selector.matchLabels['app.kubernetes.io/version']).to.equal('v2');
    expect(of(objects, 'Service', 'checkout-v2').spec.selector['app.kubernetes.io/version']).to.equal('v2');
    expect(of(objects, 'Service', 'checkout').spec.selector).to.not.have.property(
      'app.kubernetes.io/version',
    );
    expect(of(objects, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name).to.equal('checkout');
  });

  const invalid: [string, Partial<MicroserviceProps>, RegExp][] = [
    [
      'replicas is 0',
      { replicas: 0 },
      /Microservice checkout: replicas must be an integer >= 1 .*set replicas to 1 or more/,
    ],
    ['maxReplicas is below replicas', { replicas: 3, maxReplicas: 2 }, /raise maxReplicas/],
    ['the image is latest', { image: 'meshmart/services:latest' }, /pinned by a version tag or digest/],
    ['the image is untagged', { image: 'meshmart/services' }, /pinned by a version tag or digest/],
    ['a canary repeats the stable version', { canaries: [{ version: 'v1' }] }, /appears twice/],
    ['the CPU target is 0', { targetCpuUtilization: 0 }, /targetCpuUtilization must be 1\.\.100/],
    ['settings override PORT', { settings: { PORT: '1' } }, /must not set PORT; use the matching prop/],
    ['the port needs root', { entry: { ...service('checkout'), port: 80 } }, /1024\.\.65535/],
  ];
  for (const [when, props, message] of invalid) {
    it(`when ${when}, then construction throws naming the fix`, () => {
      expect(() => synth(props)).to.throw(message);
    });
  }
});
