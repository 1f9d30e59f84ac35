import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';
import { defaultConfig, mergeConfig, roleArn } from '@meshmart/cdk8s/config.ts';
import { buildProfile } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects } from '@meshmart/cdk8s/synth.ts';
import { find, PROFILE_NAMES, synthesized, type ProfileName } from '../support.ts';

/** Objects of a kind, leaving out the observability stack's and the dashboards' (tested in test/observability). */
const count = (
  objects: readonly { kind?: unknown; metadata?: { labels?: Record<string, string> } }[],
  kind: string,
): number =>
  objects.filter(
    (o) =>
      o.kind === kind &&
      !['observability', 'dashboard'].includes(o.metadata?.labels?.['app.kubernetes.io/component'] ?? ''),
  ).length;
const called = catalogue.filter((s) => catalogue.some((c) => c.dependsOn.includes(s.name as never)));
const n = catalogue.length;
/** The App Mesh profiles add the VirtualGateway's Envoy Deployment (ServiceAccount, Service, PDB). */
const hasMeshIngress = (p: ProfileName): boolean => p === 'eks-appmesh' || p === 'migration';

describe('cdk8s profiles', () => {
  for (const profile of PROFILE_NAMES) {
    describe(profile, () => {
      it('when synthesized, then every catalogue service has a Deployment, ServiceAccount, ConfigMap, HPA and PDB', () => {
        const { objects } = synthesized(profile);
        const extra = hasMeshIngress(profile) ? 1 : 0;
        expect(count(objects, 'Deployment')).to.equal(n + extra);
        expect(count(objects, 'ServiceAccount')).to.equal(n + extra);
        expect(count(objects, 'ConfigMap')).to.equal(n);
        expect(count(objects, 'HorizontalPodAutoscaler')).to.equal(n);
        expect(count(objects, 'PodDisruptionBudget')).to.equal(n + extra);
        for (const s of catalogue) {
          const d = find(objects, 'Deployment', s.name, 'meshmart');
          const container = (d.spec as any).template.spec.containers[0];
          expect(container.ports[0].containerPort, s.name).to.equal(s.port);
          expect(container.command, s.name).to.deep.equal(['node', `dist/${s.name}.mjs`]);
        }
      });

      it('when synthesized, then exactly the services serving or calling internal admin routes read ADMIN_TOKEN from meshmart-internal', () => {
        const { objects } = synthesized(profile);
        for (const s of catalogue) {
          const d = find(objects, 'Deployment', s.name, 'meshmart');
          const env = ((d.spec as any).template.spec.containers[0].env ?? []) as {
            name: string;
            valueFrom?: any;
          }[];
          const admin = env.find((e) => e.name === 'ADMIN_TOKEN');
          if (['catalog', 'inventory', 'orders', 'gateway'].includes(s.name))
            expect(admin?.valueFrom?.secretKeyRef, s.name).to.deep.equal({
              name: 'meshmart-internal',
              key: 'admin-token',
              optional: true,
            });
          else expect(admin, s.name).to.equal(undefined);
        }
      });

      it('when synthesized, then each service has its stable Service and a per-version Service', () => {
        const { objects } = synthesized(profile);
        const extra =
          (profile === 'kind' ? 2 : 0) +
          (hasMeshIngress(profile) ? 1 : 0) +
          (profile === 'eks-lattice' ? 1 : 0);
        expect(count(objects, 'Service')).to.equal(2 * n + extra);
        for (const s of catalogue) {
          expect((find(objects, 'Service', s.name).spec as any).ports[0].port).to.equal(s.port);
          expect((find(objects, 'Service', `${s.name}-v1`).spec as any).selector).to.include({
            'app.kubernetes.io/version': 'v1',
          });
        }
      });

      it('when synthesized, then each ConfigMap names every upstream by cluster or Lattice URL and the kit settings', () => {
        const { objects } = synthesized(profile);
        for (const s of catalogue) {
          const data = (find(objects, 'ConfigMap', `${s.name}-settings`).data ?? {}) as Record<
            string,
            string
          >;
          expect(data.SHUTDOWN_DELAY_MS).to.equal('5000');
          expect(data.PORT).to.equal(String(s.port));
          for (const dep of s.dependsOn) {
            const depPort = catalogue.find((c) => c.name === dep)!.port;
            expect(data[`${dep.toUpperCase()}_URL`], `${s.name} -> ${dep}`).to.equal(
              profile === 'eks-lattice'
                ? `http://${dep}.meshmart.internal`
                : `http://${dep}.meshmart.svc.cluster.local:${depPort}`,
            );
            expect(data, `${s.name} -> ${dep}`).to.have.property(`UPSTREAM_${dep.toUpperCase()}_TIMEOUT_MS`);
          }
          if (s.datastores.includes('mongodb')) expect(data.MONGO_DATABASE).to.equal(`meshmart_${s.name}`);
        }
      });
    });
  }

  it('when the profile is kind, then MongoDB and Redis run as pinned StatefulSets with claims in meshmart-data', () => {
    const { objects } = synthesized('kind');
    expect(count(objects, 'StatefulSet')).to.equal(2);
    expect(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)).to.have.members([
      'meshmart',
      'meshmart-data',
      'observability',
      'logging',
      'monitoring',
    ]);
    for (const [name, image] of [
      ['mongodb', /^mongo:7\.0\.\d+$/],
      ['redis', /^redis:7\.2\.\d+$/],
    ] as const) {
      const sts = find(objects, 'StatefulSet', name, 'meshmart-data').spec as any;
      expect(sts.template.spec.containers[0].image).to.match(image);
      expect(sts.volumeClaimTemplates[0].spec.accessModes).to.deep.equal(['ReadWriteOnce']);
      expect(sts.template.spec.containers[0].readinessProbe.exec.command.length).to.be.greaterThan(0);
    }
    const catalog = find(objects, 'ConfigMap', 'catalog-settings').data as Record<string, string>;
    expect(catalog.MONGO_URL).to.match(/^mongodb:\/\/mongodb\.meshmart-data\.svc\.cluster\.local:27017/);
    expect(catalog.REDIS_URL).to.equal('redis://redis.meshmart-data.svc.cluster.local:6379');
  });

  it('when the profile is kind, then nothing refers to AWS (no IRSA, no ECR, no LoadBalancer)', () => {
    const text = JSON.stringify(synthesized('kind').objects);
    expect(text).to.not.match(/amazonaws|eks\.amazonaws\.com|LoadBalancer/);
  });

  for (const profile of ['eks-appmesh', 'eks-lattice', 'migration'] as const) {
    it(`when the profile is ${profile}, then no datastore runs in-cluster and the URLs use TLS with secret parts`, () => {
      const { objects } = synthesized(profile);
      expect(count(objects, 'StatefulSet')).to.equal(0);
      for (const s of catalogue) {
        const pod = (find(objects, 'Deployment', s.name).spec as any).template.spec;
        const env = pod.containers[0].env as { name: string; value?: string; valueFrom?: any }[];
        const mongo = env.find((e) => e.name === 'MONGO_URL');
        if (s.datastores.includes('mongodb')) {
          expect(mongo?.value, s.name)
            .to.match(/tls=true/)
            .and.match(/\$\(MONGO_PASSWORD\)/);
          expect(env.find((e) => e.name === 'MONGO_PASSWORD')?.valueFrom.secretKeyRef.name).to.equal(
            'meshmart-datastores',
          );
        } else expect(mongo, s.name).to.equal(undefined);
        // Redis carries the event bus too: a service with it in its entry, or with a topic, gets a URL; others none.
        const redis = env.find((e) => e.name === 'REDIS_URL');
        if (s.datastores.includes('redis') || s.publishes.length > 0 || s.consumes.length > 0)
          expect(redis?.value, s.name).to.match(/^rediss:\/\//);
        else expect(redis, s.name).to.equal(undefined);
        const sa = find(objects, 'ServiceAccount', s.name).metadata as any;
        expect(sa.annotations['eks.amazonaws.com/role-arn']).to.equal(roleArn(defaultConfig(), s.name));
      }
    });
  }

  it('when the profile uses App Mesh, then the namespace enables injection and enforces privileged (proxy-init needs NET_ADMIN)', () => {
    for (const profile of ['eks-appmesh', 'migration'] as const) {
      const labels = find(synthesized(profile).objects, 'Namespace', 'meshmart').metadata!.labels!;
      expect(labels['appmesh.k8s.aws/sidecarInjectorWebhook']).to.equal('enabled');
      expect(labels['pod-security.kubernetes.io/enforce']).to.equal('privileged');
      expect(labels['pod-security.kubernetes.io/warn']).to.equal('restricted');
      expect(count(synthesized(profile).objects, 'VirtualNode')).to.equal(n);
      expect(count(synthesized(profile).objects, 'VirtualService')).to.equal(n);
    }
  });

  it('when the profile is eks-lattice, then the namespace is restricted with readiness gates and every called service has an HTTPRoute', () => {
    const { objects } = synthesized('eks-lattice');
    const labels = find(objects, 'Namespace', 'meshmart').metadata!.labels!;
    expect(labels['pod-security.kubernetes.io/enforce']).to.equal('restricted');
    expect(labels['application-networking.k8s.aws/pod-readiness-gate-inject']).to.equal('enabled');
    expect(count(objects, 'HTTPRoute')).to.equal(called.length);
    expect(count(objects, 'TargetGroupPolicy')).to.equal(n);
    expect(count(objects, 'VirtualNode')).to.equal(0);
    expect((find(objects, 'Service', 'gateway-public').spec as any).type).to.equal('LoadBalancer');
  });

  it('when a canary is configured, then it gets its own Deployment and Service and App Mesh weights on both versions', () => {
    const config = {
      ...defaultConfig(),
      canaries: [{ service: 'catalog' as const, version: 'v2', weight: 10 }],
    };
    const objects = profileObjects(buildProfile('migration', config));
    const canary = find(objects, 'Deployment', 'catalog-v2').spec as any;
    expect(canary.replicas).to.equal(1);
    expect(canary.template.metadata.labels['app.kubernetes.io/version']).to.equal('v2');
    expect(
      (find(objects, 'Service', 'catalog-v2').spec as any).selector['app.kubernetes.io/version'],
    ).to.equal('v2');
    expect(count(objects, 'VirtualNode')).to.equal(n + 1);
    const router = JSON.stringify(find(objects, 'VirtualRouter', 'catalog-router'));
    expect(router).to.contain('"weight":90').and.contain('"weight":10');
    const route = JSON.stringify(find(objects, 'HTTPRoute', 'catalog'));
    expect(route).to.contain('catalog-v2');
  });

  it('when the config picks AWS Cloud Map for App Mesh, then eks-appmesh and migration VirtualNodes use it, every object validates, and MIGRATION.md says what changes for Lattice', async () => {
    const { validateManifests } = await import('@meshmart/cdk8s/validation/index.ts');
    const config = mergeConfig(defaultConfig(), {
      appMesh: { discovery: 'cloudMap', cloudMapNamespace: 'meshmart.local' },
    });
    for (const name of ['eks-appmesh', 'migration'] as const) {
      const profile = buildProfile(name, config);
      const objects = profileObjects(profile);
      const nodes = objects.filter((o) => o.kind === 'VirtualNode');
      expect(nodes.length, name).to.equal(n);
      for (const node of nodes)
        expect((node.spec as any).serviceDiscovery.awsCloudMap.namespaceName, name).to.equal(
          'meshmart.local',
        );
      expect(validateManifests(objects), name).to.deep.equal([]);
      if (name === 'migration') {
        expect(profile.reports['MIGRATION.md']).to.contain('AWS Cloud Map (namespace `meshmart.local`');
        expect(profile.reports['MIGRATION.md']).to.contain('Lattice\ndoes not use Cloud Map');
      }
    }
    const dns = profileObjects(buildProfile('eks-appmesh', defaultConfig())).filter(
      (o) => o.kind === 'VirtualNode',
    );
    expect((dns[0].spec as any).serviceDiscovery).to.have.keys(['dns']);
  });

  it('when Cloud Map is picked without a namespace, then the config is refused, naming the setting', () => {
    expect(() => mergeConfig(defaultConfig(), { appMesh: { discovery: 'cloudMap' } })).to.throw(
      /appMesh\.cloudMapNamespace is required with appMesh\.discovery 'cloudMap'/,
    );
  });
});
