import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { staleness, synthesisInputs } from '@meshmart/ops/lib/freshness.ts';

describe('ops/lib/freshness: is dist/<profile>/ older than what synthesizes it', () => {
  const root = mkdtempSync(join(tmpdir(), 'ops-fresh-'));
  const write = (path: string, text: string, seconds: number): void => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
    utimesSync(join(root, path), seconds, seconds);
  };
  before(() => {
    write('package.json', '{"version": "1.0.0"}', 1000);
    write('cdk8s/main.ts', "import { a } from './a.ts';\nimport 'yaml';\n", 1000);
    write(
      'cdk8s/a.ts',
      "import { k } from '@meshmart/kit/catalogue';\nconst f = (n: string) => new URL(`../conf/${n}`, import.meta.url);\n",
      1000,
    );
    write('services/kit/package.json', '{"exports": {"./catalogue": "./src/catalogue.ts"}}', 1000);
    write('services/kit/src/catalogue.ts', 'export const k = 1;\n', 1000);
    write('services/kit/src/unrelated.ts', 'export const u = 1;\n', 1000);
    write('conf/one.conf', 'x', 1000);
    write('dist/kind/00-namespaces.yaml', 'kind: Namespace\n', 2000);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('when the inputs are listed, then they are the imported modules (workspace packages by their exports), the files read by URL and package.json', () => {
    const inputs = synthesisInputs(join(root, 'cdk8s/main.ts'), root).map((f) => f.slice(root.length + 1));
    expect(inputs).to.deep.equal([
      'cdk8s/a.ts',
      'cdk8s/main.ts',
      'conf/one.conf',
      'package.json',
      'services/kit/src/catalogue.ts',
    ]);
  });

  it('when every input is older than the manifests, then they are fresh; when one changed later, then it is named', () => {
    expect(staleness(join(root, 'dist/kind'), root)).to.equal(undefined);
    utimesSync(join(root, 'services/kit/src/unrelated.ts'), 3000, 3000);
    expect(staleness(join(root, 'dist/kind'), root)).to.equal(undefined);
    utimesSync(join(root, 'conf/one.conf'), 3000, 3000);
    utimesSync(join(root, 'services/kit/src/catalogue.ts'), 4000, 4000);
    expect(staleness(join(root, 'dist/kind'), root)?.newer).to.deep.equal([
      'services/kit/src/catalogue.ts',
      'conf/one.conf',
    ]);
  });

  it('when the repository itself is read, then cdk8s, the mesh model, the catalogue and the collector configuration are inputs', () => {
    const inputs = synthesisInputs();
    for (const f of [
      'cdk8s/profiles/definitions.ts',
      'mesh/model.ts',
      'services/catalogue/src/catalogue.ts',
      'observability/otel/collector-kind.yaml',
      'package.json',
    ])
      expect(
        inputs.some((i) => i.endsWith(`/${f}`)),
        f,
      ).to.equal(true);
  });
});
