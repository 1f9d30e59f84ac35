import { expect } from 'chai';
import { defaultConfig } from '@meshmart/cdk8s/config.ts';
import { buildFromDefinition } from '@meshmart/cdk8s/profiles/build.ts';
import { PROFILES } from '@meshmart/cdk8s/profiles/definitions.ts';
import { PROFILE_NAMES } from '@meshmart/cdk8s/profiles/names.ts';
import { profileObjects } from '@meshmart/cdk8s/synth.ts';

describe('cdk8s profiles: declared, built by one path', () => {
  it('when the profiles are listed, then each has a declaration and each declaration a listed name', () => {
    expect(Object.keys(PROFILES)).to.have.members([...PROFILE_NAMES]);
  });

  it('when a declaration asks for a combination no profile uses, then the same path builds it from its fields', () => {
    const profile = buildFromDefinition(
      'eks-plain',
      { platform: 'eks', mesh: 'none', monitoring: 'kube-prometheus-stack' },
      defaultConfig(),
    );
    const charts = profile.charts.map((c) => c.node.id).sort();
    expect(charts).to.include('51-monitoring');
    expect(charts).not.to.include.members(['25-ingress', '40-app-mesh', '40-gateway-api', '10-datastores']);
    expect(profile.callersVia).to.equal('pods');
    expect(profile.reports).to.deep.equal({});
    const kinds = new Set(profileObjects(profile).map((o) => o.kind));
    expect(kinds.has('VirtualNode')).to.equal(false);
    expect(kinds.has('HTTPRoute')).to.equal(false);
    expect(kinds.has('PodMonitor')).to.equal(true);
  });

  it('when a kind profile declares an AWS mesh, then building it fails naming the profile and the fix', () => {
    expect(() =>
      buildFromDefinition(
        'kind-mesh',
        { platform: 'kind', mesh: 'app-mesh', monitoring: 'in-cluster' },
        defaultConfig(),
      ),
    ).to.throw(/profile 'kind-mesh': mesh 'app-mesh' needs AWS; on platform 'kind' use mesh 'none'/);
  });

  it('when the monitoring does not fit the platform, then building it fails naming what the platform runs', () => {
    expect(() =>
      buildFromDefinition(
        'eks-bundled',
        { platform: 'eks', mesh: 'none', monitoring: 'in-cluster' },
        defaultConfig(),
      ),
    ).to.throw(/platform 'eks' runs monitoring 'kube-prometheus-stack', not 'in-cluster'/);
  });
});
