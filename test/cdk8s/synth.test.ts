import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { synthProfiles } from '@meshmart/cdk8s/main.ts';
import { PROFILE_NAMES } from '@meshmart/cdk8s/profiles/index.ts';

describe('cdk8s synthProfiles', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'meshmart-synth-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('when every profile is synthesized twice, then both trees are byte-identical', () => {
    const a = tempDir();
    const b = tempDir();
    synthProfiles(PROFILE_NAMES, a);
    synthProfiles(PROFILE_NAMES, b);
    for (const profile of PROFILE_NAMES) {
      const files = readdirSync(join(a, profile)).sort();
      expect(readdirSync(join(b, profile)).sort(), profile).to.deep.equal(files);
      expect(files.length, profile).to.be.greaterThan(2);
      for (const f of files)
        expect(readFileSync(join(b, profile, f), 'utf8'), `${profile}/${f}`).to.equal(
          readFileSync(join(a, profile, f), 'utf8'),
        );
    }
  });

  it('when a profile is written, then each chart is one YAML file whose objects are sorted by kind order then name', () => {
    const dir = tempDir();
    const [result] = synthProfiles(['kind'], dir);
    expect(result.files).to.include.members(['00-namespaces.yaml', '10-datastores.yaml', '20-services.yaml']);
    const docs = parseAllDocuments(readFileSync(join(dir, 'kind', '20-services.yaml'), 'utf8')).map(
      (d) => d.toJSON() as { kind: string; metadata: { name: string } },
    );
    const kinds = docs.map((d) => d.kind);
    expect(kinds.indexOf('ServiceAccount')).to.be.lessThan(kinds.indexOf('Deployment'));
    expect(kinds.lastIndexOf('Service')).to.be.lessThan(kinds.indexOf('Deployment'));
    const deployments = docs.filter((d) => d.kind === 'Deployment').map((d) => d.metadata.name);
    expect(deployments).to.deep.equal([...deployments].sort());
  });

  it('when the reports are written, then LATTICE-REPORT.md and MIGRATION.md sit beside the YAML', () => {
    const dir = tempDir();
    synthProfiles(['eks-lattice', 'migration'], dir);
    expect(readFileSync(join(dir, 'eks-lattice', 'LATTICE-REPORT.md'), 'utf8')).to.match(/^# /);
    expect(readFileSync(join(dir, 'migration', 'MIGRATION.md'), 'utf8')).to.match(/App Mesh/);
  });

  it('when a stale YAML file is in the profile directory, then a new synth removes it', () => {
    const dir = tempDir();
    synthProfiles(['kind'], dir);
    writeFileSync(join(dir, 'kind', '99-old-chart.yaml'), 'kind: Stale\n');
    synthProfiles(['kind'], dir);
    expect(readdirSync(join(dir, 'kind'))).to.not.include('99-old-chart.yaml');
  });
});
