import { expect } from 'chai';
import { validateBuiltIn } from '@meshmart/cdk8s/validation/kube-validator.ts';
import { validateManifests } from '@meshmart/cdk8s/validation/index.ts';
import { copyOf, find, PROFILE_NAMES, synthesized } from '../support.ts';

describe('cdk8s validation', () => {
  for (const profile of PROFILE_NAMES) {
    it(`when every object of ${profile} is validated, then there are zero problems`, () => {
      const { objects } = synthesized(profile);
      expect(objects.length).to.be.greaterThan(50);
      expect(validateManifests(objects)).to.deep.equal([]);
    });
  }

  it('when a Deployment has a string containerPort, then the Kubernetes schema rejects it by path', () => {
    const d = copyOf(find(synthesized('kind').objects, 'Deployment', 'cart')) as any;
    d.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    const problems = validateBuiltIn(d);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^Deployment meshmart\/cart: .*containerPort must be integer/);
  });

  it('when an HPA lacks maxReplicas, then the Kubernetes schema rejects it', () => {
    const h = copyOf(find(synthesized('kind').objects, 'HorizontalPodAutoscaler', 'cart')) as any;
    delete h.spec.maxReplicas;
    expect(validateBuiltIn(h).join()).to.contain('maxReplicas');
  });

  it('when a built-in kind has no schema mapping, then it is a problem, not a silent pass', () => {
    expect(
      validateBuiltIn({ apiVersion: 'apps/v1', kind: 'Frobnicator', metadata: { name: 'x' } }),
    ).to.deep.equal([
      'Frobnicator x: no Kubernetes schema for apps/v1/Frobnicator; add it to cdk8s/validation/kube-validator.ts',
    ]);
  });

  it('when a custom resource carries an unknown field, then validateManifests reports it through the CRD validator', () => {
    const vs = copyOf(find(synthesized('eks-appmesh').objects, 'VirtualService', 'catalog')) as any;
    vs.spec.bogusField = true;
    const problems = validateManifests([vs]);
    expect(problems.length).to.be.greaterThan(0);
    expect(problems.join('\n')).to.contain('bogusField');
  });
});
