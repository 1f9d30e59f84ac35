import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';
import { checkPolicy, RULES, type Manifest, type PolicyRule } from '@meshmart/cdk8s/policy/index.ts';
import { imageTagsRule } from '@meshmart/cdk8s/policy/rules/image-tags.ts';
import { networkCoverageRule } from '@meshmart/cdk8s/policy/rules/network-coverage.ts';
import { pdbRule } from '@meshmart/cdk8s/policy/rules/pdb.ts';
import { probesRule } from '@meshmart/cdk8s/policy/rules/probes.ts';
import { reachabilityRule } from '@meshmart/cdk8s/policy/rules/reachability.ts';
import { resourcesRule } from '@meshmart/cdk8s/policy/rules/resources.ts';
import { secretLiteralsRule } from '@meshmart/cdk8s/policy/rules/secret-literals.ts';
import { securityContextRule } from '@meshmart/cdk8s/policy/rules/security-context.ts';
import { copyOf, find, PROFILE_NAMES, synthesized, type ProfileName } from '../support.ts';

/** A copy of a profile's objects, one of them broken by `breakIt`, checked by one rule. */
function broken(profile: ProfileName, rule: PolicyRule, breakIt: (objects: any[]) => void): string[] {
  const { objects, context } = synthesized(profile);
  const copy = copyOf(objects) as any[];
  breakIt(copy);
  return rule.check(copy as Manifest[], context).map((v) => `${v.object}: ${v.message}`);
}
const container = (objects: any[], name: string, kind = 'Deployment'): any =>
  (find(objects, kind, name) as any).spec.template.spec.containers[0];

describe('cdk8s policy rules', () => {
  for (const profile of PROFILE_NAMES) {
    it(`when the ${profile} profile is checked, then every rule passes`, () => {
      const { objects, context } = synthesized(profile);
      const report = checkPolicy(objects, context);
      const failures = report.rules.flatMap((r) =>
        r.violations.map((v) => `${v.rule} ${v.object}: ${v.message}`),
      );
      expect(failures).to.deep.equal([]);
      expect(report.rules.map((r) => r.id)).to.have.length(RULES.length);
    });
  }

  it('when a container has no readiness probe, then the probes rule catches it', () => {
    const found = broken('kind', probesRule, (o) => delete container(o, 'catalog').readinessProbe);
    expect(found).to.deep.equal(['Deployment meshmart/catalog: container catalog has no readinessProbe']);
  });

  it('when a container has no memory limit, then the resources rule catches it', () => {
    const found = broken(
      'kind',
      resourcesRule,
      (o) => delete container(o, 'redis', 'StatefulSet').resources.limits.memory,
    );
    expect(found).to.deep.equal(['StatefulSet meshmart-data/redis: container redis has no limits.memory']);
  });

  it('when a container may escalate privileges and writes its root filesystem, then the security-context rule catches it', () => {
    const found = broken('eks-appmesh', securityContextRule, (o) => {
      const c = container(o, 'payments');
      c.securityContext.allowPrivilegeEscalation = true;
      delete c.securityContext.readOnlyRootFilesystem;
    });
    expect(found).to.have.length(1);
    expect(found[0])
      .to.contain('Deployment meshmart/payments')
      .and.contain('readOnlyRootFilesystem')
      .and.contain('allowPrivilegeEscalation');
  });

  it('when a pod runs as root, then the security-context rule catches it', () => {
    const found = broken('kind', securityContextRule, (o) => {
      const c = container(o, 'cart');
      c.securityContext.runAsUser = 0;
      c.securityContext.runAsNonRoot = false;
    });
    expect(found[0]).to.contain('runAsNonRoot is not true').and.contain('runAsUser is 0');
  });

  it('when an image is latest or untagged, then the image-tags rule catches both', () => {
    const found = broken('kind', imageTagsRule, (o) => {
      container(o, 'gateway').image = 'meshmart/services:latest';
      container(o, 'mongodb', 'StatefulSet').image = 'docker.io/library/mongo';
    });
    expect(found).to.have.length(2);
    expect(found.join('\n')).to.contain("tagged 'latest'").and.contain('untagged');
  });

  it('when a namespace with workloads lacks a default deny, then the network-coverage rule catches it', () => {
    const found = broken('kind', networkCoverageRule, (o) => {
      const i = o.findIndex(
        (x) =>
          x.kind === 'NetworkPolicy' &&
          x.metadata.namespace === 'meshmart-data' &&
          x.metadata.name === 'default-deny',
      );
      o.splice(i, 1);
    });
    expect(
      found.some((f) => f.startsWith('Namespace meshmart-data: has workloads but no default-deny')),
    ).to.equal(true);
  });

  it('when a workload lands in a namespace without NetworkPolicies, then the network-coverage rule catches it', () => {
    const found = broken('kind', networkCoverageRule, (o) => {
      const d = copyOf(find(o, 'Deployment', 'audit')) as any;
      d.metadata.namespace = 'elsewhere';
      o.push(d);
    });
    expect(found).to.include(
      'Deployment elsewhere/audit: no NetworkPolicy restricts its ingress and egress traffic',
    );
  });

  it('when a multi-replica Deployment loses its PDB, then the pdb rule catches it', () => {
    const found = broken('eks-lattice', pdbRule, (o) => {
      o.splice(o.indexOf(find(o, 'PodDisruptionBudget', 'orders')), 1);
    });
    expect(found).to.deep.equal([
      'Deployment meshmart/orders: 2 replicas but no PodDisruptionBudget selects its pods',
    ]);
  });

  it('when a Secret with data, a literal password env and a URL with an inline password appear, then the no-secret-literals rule catches each', () => {
    const found = broken('kind', secretLiteralsRule, (o) => {
      o.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'meshmart' },
        data: { password: 'aHVudGVyMg==' },
      });
      container(o, 'orders').env = [{ name: 'MONGO_PASSWORD', value: 'hunter2' }];
      (find(o, 'ConfigMap', 'catalog-settings') as any).data.MONGO_URL =
        'mongodb://admin:hunter2@mongodb:27017';
    });
    expect(found).to.have.length(3);
    expect(found.join('\n'))
      .to.contain('Secret meshmart/db')
      .and.contain('MONGO_PASSWORD holds a literal')
      .and.contain('inline password');
  });

  it('when env composes a URL from $(VAR) secret references, then the no-secret-literals rule accepts it', () => {
    const found = broken('kind', secretLiteralsRule, (o) => {
      container(o, 'orders').env = [{ name: 'MONGO_URL', value: 'mongodb://$(U):$(P)@h:27017/?tls=true' }];
    });
    expect(found).to.deep.equal([]);
  });

  it('when a NetworkPolicy admits a service the model does not let call, then the reachability rule catches it', () => {
    const found = broken('kind', reachabilityRule, (o) => {
      const np = find(o, 'NetworkPolicy', 'allow-payments', 'meshmart') as any;
      np.spec.ingress[0].from[0].podSelector.matchExpressions[0].values.push('cart');
    });
    expect(found).to.deep.equal([
      'Service meshmart/payments: admits cart, which the traffic model does not let call it',
    ]);
  });

  it('when a NetworkPolicy blocks a caller of the model, then the reachability rule catches it', () => {
    const found = broken('eks-appmesh', reachabilityRule, (o) => {
      const np = find(o, 'NetworkPolicy', 'allow-catalog', 'meshmart') as any;
      np.spec.ingress[0].from[0].podSelector.matchExpressions[0].values = ['cart'];
    });
    // Every caller of catalog but cart is blocked now (gateway today): the catalogue says which.
    const blocked = catalogue.filter((s) => s.dependsOn.includes('catalog') && s.name !== 'cart');
    expect(blocked.map((s) => s.name)).to.include('gateway');
    expect(found).to.deep.equal(
      blocked.map((s) => `Service meshmart/catalog: blocks ${s.name}, a caller in the traffic model`),
    );
  });

  it('when an internal service admits any source, then the reachability rule catches it', () => {
    const found = broken('kind', reachabilityRule, (o) => {
      (find(o, 'NetworkPolicy', 'allow-audit', 'meshmart') as any).spec.ingress.push({});
    });
    expect(found).to.deep.equal([
      'Service meshmart/audit: admits traffic from anywhere, but it is not the public service',
    ]);
  });

  it('when a Lattice IAMAuthPolicy admits a principal that is not a caller, then the reachability rule catches it', () => {
    const found = broken('eks-lattice', reachabilityRule, (o) => {
      const p = find(o, 'IAMAuthPolicy', 'inventory', 'meshmart') as any;
      const doc = JSON.parse(p.spec.policy);
      doc.Statement[0].Principal.AWS.push('arn:aws:iam::111122223333:role/meshmart-cart');
      p.spec.policy = JSON.stringify(doc);
    });
    expect(found).to.have.length(1);
    expect(found[0]).to.match(/^Service meshmart\/inventory: IAMAuthPolicy admits .*meshmart-cart/);
  });
});
