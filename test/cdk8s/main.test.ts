import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { exampleValues, exampleValuesIn } from '@meshmart/cdk8s/config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function synth(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MESHMART_')));
  return spawnSync(process.execPath, ['--import', 'tsx', 'cdk8s/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...clean, ...env },
    timeout: 120_000,
  });
}

// `make synth` is this command line: what it refuses, and what it writes once the values are real.
describe('cdk8s/main.ts (make synth): example values', function () {
  this.timeout(120_000);
  const out = mkdtempSync(join(tmpdir(), 'meshmart-main-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('when every profile is asked for with the default settings, then nothing is written and each example value is named with its variable', () => {
    const r = synth(['--out', join(out, 'defaults')]);
    expect(r.status, r.stderr).to.equal(2);
    expect(existsSync(join(out, 'defaults'))).to.equal(false);
    expect(r.stderr).to.include(
      'synth: eks-appmesh, eks-lattice, migration would be written with example values',
    );
    for (const e of exampleValues())
      expect(r.stderr).to.match(
        new RegExp(`${e.setting.replace('.', '\\.')} +${e.env} +\\(still the example`),
      );
    expect(r.stderr).to.include('make synth PROFILE=kind');
    expect(r.stderr).to.include('make synth EXAMPLE=1 (--example-values)');
  });

  it('when the account and both datastore hosts are set, then the EKS profile is written with them and no example value is left', () => {
    const r = synth(['--out', out, '--profile', 'eks-lattice'], {
      MESHMART_AWS_ACCOUNT_ID: '123456789012',
      MESHMART_DOCDB_HOST: 'shop.cluster-abc.eu-west-1.docdb.amazonaws.com',
      MESHMART_ELASTICACHE_HOST: 'master.shop.abc.euw1.cache.amazonaws.com',
    });
    expect(r.status, r.stderr).to.equal(0);
    const text = readdirSync(join(out, 'eks-lattice'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => readFileSync(join(out, 'eks-lattice', f), 'utf8'))
      .join('\n');
    expect(exampleValuesIn([text])).to.deep.equal([]);
    expect(text).to.include('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(text).to.include('shop.cluster-abc.eu-west-1.docdb.amazonaws.com');
  });
});
