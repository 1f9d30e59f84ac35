import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpRoute } from '@meshmart/cdk8s/imports/gateway.networking.k8s.io.ts';
import { VirtualNode } from '@meshmart/cdk8s/imports/appmesh.k8s.aws.ts';
import { ServiceMonitor } from '@meshmart/cdk8s/imports/monitoring.coreos.com.ts';
import { IamAuthPolicy } from '@meshmart/cdk8s/imports/application-networking.k8s.aws.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('cdk8s/imports (generated)', () => {
  it('when loaded under tsx, then each group module exports its kinds with the CRD apiVersion', () => {
    expect(VirtualNode.GVK).to.deep.equal({ apiVersion: 'appmesh.k8s.aws/v1beta2', kind: 'VirtualNode' });
    expect(HttpRoute.GVK).to.deep.equal({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' });
    expect(IamAuthPolicy.GVK.apiVersion).to.equal('application-networking.k8s.aws/v1alpha1');
    expect(ServiceMonitor.GVK.apiVersion).to.equal('monitoring.coreos.com/v1');
  });

  it('when regenerated from cdk8s/crds offline, then the output equals the committed imports byte for byte', function () {
    this.timeout(120_000);
    const out = mkdtempSync(join(tmpdir(), 'cdk8s-imports-'));
    try {
      execFileSync(join(repo, 'scripts', 'cdk8s-imports.sh'), [out], { stdio: 'pipe' });
      const committed = join(repo, 'cdk8s', 'imports');
      const names = readdirSync(out).sort();
      expect(names).to.deep.equal(readdirSync(committed).sort());
      for (const name of names) {
        expect(readFileSync(join(out, name)).equals(readFileSync(join(committed, name))), name).to.equal(
          true,
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
