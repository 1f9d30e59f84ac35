import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const vendored = join(repo, 'cdk8s', 'crds');
const upstream = join(repo, '..', 'shared', 'crds');

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));
}

describe('cdk8s/crds (vendored)', () => {
  it('when the repo stands alone, then the CRDs of every mesh backend and prometheus-operator are vendored', () => {
    const names = files(vendored).map((f) => relative(vendored, f));
    expect(names).to.include.members([
      'SOURCES.md',
      'appmesh/appmesh.k8s.aws_crds.yaml',
      'gateway-api/gateway.networking.k8s.io_httproutes.yaml',
      'aws-gateway-api-controller/application-networking.k8s.aws_iamauthpolicies.yaml',
      'prometheus-operator/monitoring.coreos.com_prometheusrules.yaml',
    ]);
  });

  it('when ../shared/crds exists, then cdk8s/crds is a byte-for-byte copy of it', function () {
    // A clone of this repository on its own has no ../shared/crds to compare with (CI's checkout has it).
    if (!existsSync(upstream)) this.skip();
    const theirs = files(upstream).map((f) => relative(upstream, f));
    expect(files(vendored).map((f) => relative(vendored, f))).to.deep.equal(theirs);
    for (const name of theirs) {
      expect(readFileSync(join(vendored, name)).equals(readFileSync(join(upstream, name))), name).to.equal(
        true,
      );
    }
  });
});
