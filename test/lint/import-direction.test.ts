import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = new Set([
  'no-restricted-imports',
  'no-restricted-syntax',
  '@typescript-eslint/no-restricted-imports',
]);

// The repository's eslint.config.js, its import bans alone: the snippets sit at paths that do not exist, so there is
// no program to type-check them against.
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => RULES.has(ruleId),
});

/** What lint says of `code` placed at `path` (from the repository root): `<rule>: <message>` each. */
async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return result.messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

async function expectBanned(path: string, code: string, says: string): Promise<void> {
  const found = await problems(path, code);
  expect(found, `${path}: ${code}`).to.have.length(1);
  expect(found[0]).to.match(/^(@typescript-eslint\/)?no-restricted-(imports|syntax): /);
  expect(found[0]).to.include(says);
}

async function expectAllowed(path: string, code: string): Promise<void> {
  expect(await problems(path, code), `${path}: ${code}`).to.deep.equal([]);
}

describe('lint: the import direction (eslint.config.js, docs/architecture.md)', function () {
  it('when a snippet the config allows is linted, then lint reports nothing (the parser and the config load)', async () => {
    await expectAllowed(
      'services/kit/src/x.ts',
      "import { b } from './http/index.ts';\nexport const a = b;\n",
    );
  });

  describe('services/ (runtime code)', () => {
    it('when a service imports deployment code, statically, as a type or with import(), then lint fails', async () => {
      const says = 'runtime code (services/) never imports deployment code';
      await expectBanned('services/cart/src/x.ts', "import { a } from '../../../cdk8s/config.ts';", says);
      await expectBanned(
        'services/cart/src/routes/x.ts',
        "import type { A } from '../../../../mesh/model.ts';",
        says,
      );
      await expectBanned(
        'services/kit/src/x.ts',
        "export { a } from '../../../observability/index.ts';",
        says,
      );
      await expectBanned(
        'services/orders/src/x.ts',
        "await import('../../../test/support/stores.ts');",
        says,
      );
      for (const part of ['ops/lib/kube.ts', 'scripts/load.ts', 'infra/lib/app.ts', 'bench/run.ts'])
        await expectBanned('services/payments/src/x.ts', `import { a } from '../../../${part}';`, says);
    });

    it('when a file imports its own package, even a folder named like a deployment part, then lint allows it', async () => {
      await expectAllowed('services/catalog/src/x.ts', "import { a } from '../scripts/product-art.ts';");
      await expectAllowed('services/cart/src/routes/x.ts', "import { a } from '../domain/cart.ts';");
    });

    it('when the kit imports a service by path or any other workspace package, then lint fails', async () => {
      const says = 'the kit knows no service';
      await expectBanned('services/kit/src/x.ts', "import { a } from '../../cart/src/app.ts';", says);
      await expectBanned(
        'services/kit/src/http/x.ts',
        "import { a } from '../../../gateway/src/app.ts';",
        says,
      );
      await expectBanned('services/kit/src/x.ts', "import { a } from '@meshmart/contracts';", says);
      await expectBanned('services/kit/src/x.ts', "await import('@meshmart/orders');", says);
    });

    it('when the catalogue imports the kit, a service or any other workspace package, then lint fails', async () => {
      const says = 'the catalogue describes the system and runs nothing';
      await expectBanned('services/catalogue/src/x.ts', "import { a } from '@meshmart/kit';", says);
      await expectBanned(
        'services/catalogue/src/x.ts',
        "import type { A } from '@meshmart/contracts';",
        says,
      );
      await expectBanned('services/catalogue/src/x.ts', "import { a } from '../../kit/src/index.ts';", says);
      await expectBanned('services/catalogue/src/x.ts', "await import('@meshmart/orders');", says);
      await expectAllowed(
        'services/catalogue/src/x.ts',
        "import { a } from './catalogue.ts';\nexport { a };\n",
      );
    });

    it('when the kit imports the catalogue by name, then lint allows it; by path, it fails', async () => {
      await expectAllowed(
        'services/kit/src/x.ts',
        "import { a } from '@meshmart/catalogue';\nexport { a };\n",
      );
      await expectBanned(
        'services/kit/src/x.ts',
        "import { a } from '../../catalogue/src/catalogue.ts';",
        'the kit knows no service',
      );
    });

    it("when a service imports another service's files, then lint fails; the catalogue, the kit and contracts by name pass", async () => {
      const says = "services/cart/ never imports another package's files";
      await expectBanned(
        'services/cart/src/x.ts',
        "import type { A } from '../../orders/src/domain/x.ts';",
        says,
      );
      await expectBanned('services/cart/src/x.ts', "import { a } from '../../kit/src/index.ts';", says);
      await expectBanned(
        'services/cart/src/x.ts',
        "import { a } from '../../../services/kit/src/x.ts';",
        says,
      );
      await expectBanned(
        'services/cart/src/x.ts',
        "import { a } from '@meshmart/orders';",
        'services/cart/ imports only',
      );
      await expectAllowed(
        'services/cart/src/x.ts',
        "import { a } from '@meshmart/kit';\nimport { b } from '@meshmart/kit/events';\nimport { c } from '@meshmart/contracts';\nimport { e } from '@meshmart/catalogue';\nexport const d = [a, b, c, e];\n",
      );
    });

    it('when the gateway imports the web UI, then only its package entry passes', async () => {
      await expectAllowed('services/gateway/src/x.ts', "await import('@meshmart/web');");
      await expectBanned(
        'services/gateway/src/x.ts',
        "import { a } from '@meshmart/web/build';",
        'services/gateway/',
      );
      await expectBanned(
        'services/gateway/src/x.ts',
        "import { a } from '../../web/src/index.ts';",
        'services/gateway/',
      );
    });
  });

  describe('prom-client metrics (made from declarations by the kit alone)', () => {
    const says = 'metrics are made from a declaration';
    it('when a file outside the kit imports Counter, Gauge, Histogram or Summary from prom-client, then lint fails', async () => {
      await expectBanned('services/gateway/src/x.ts', "import { Counter } from 'prom-client';", says);
      await expectBanned(
        'services/kit/src/redis.ts',
        "import { Gauge, type Registry } from 'prom-client';",
        says,
      );
      await expectBanned('ops/lib/x.ts', "import { Histogram } from 'prom-client';", says);
      await expectBanned('test/x.test.ts', "import { Summary } from 'prom-client';", says);
      await expectBanned(
        'services/orders/src/x.ts',
        "import * as prom from 'prom-client';\nexport { prom };\n",
        says,
      );
    });

    it("when it imports them as types, or the registry, or it is the kit's metrics module, then lint allows it", async () => {
      await expectAllowed(
        'services/orders/src/x.ts',
        "import type { Counter } from 'prom-client';\nexport type A = Counter;\n",
      );
      await expectAllowed(
        'services/gateway/src/x.ts',
        "import { type Counter, Registry } from 'prom-client';\nexport type A = Counter;\nexport const r = new Registry();\n",
      );
      await expectAllowed(
        'services/kit/src/metrics.ts',
        "import { Counter, Gauge, Histogram } from 'prom-client';\nexport { Counter, Gauge, Histogram };\n",
      );
    });
  });

  describe('deployment code', () => {
    it('when mesh/, cdk8s/ or observability/ import the catalogue or the kit by a path into services/, then lint fails', async () => {
      await expectBanned(
        'mesh/x.ts',
        "import { a } from '../services/catalogue/src/catalogue.ts';",
        'mesh/ imports the catalogue and the kit by package name',
      );
      await expectBanned(
        'cdk8s/constructs/x.ts',
        "import { a } from '../../services/catalogue/src/index.ts';",
        'cdk8s/',
      );
      await expectBanned(
        'observability/slo/x.ts',
        "import { a } from '../../services/kit/src/metrics.ts';",
        'observability/',
      );
    });

    it('when they import a kit module their row of the table does not list, then lint fails', async () => {
      await expectBanned('mesh/x.ts', "import { a } from '@meshmart/kit';", 'mesh/ may import only');
      await expectBanned(
        'cdk8s/x.ts',
        "import { a } from '@meshmart/kit/metrics';",
        'cdk8s/ may import only',
      );
      await expectBanned(
        'observability/x.ts',
        "import { a } from '@meshmart/orders';",
        'observability/ may import only',
      );
      await expectAllowed('mesh/x.ts', "import { a } from '@meshmart/kit/upstream-policy';\nexport { a };\n");
      await expectAllowed(
        'observability/x.ts',
        "import { a } from '@meshmart/kit/metric-declarations';\nexport { a };\n",
      );
      await expectBanned(
        'observability/x.ts',
        "import { a } from '@meshmart/kit/metrics';",
        'observability/ may import only',
      );
      await expectBanned(
        'cdk8s/x.ts',
        "import { a } from '@meshmart/kit/catalogue';",
        'cdk8s/ may import only @meshmart/catalogue',
      );
      for (const part of ['mesh', 'cdk8s', 'observability'])
        await expectAllowed(`${part}/x.ts`, "import { a } from '@meshmart/catalogue';\nexport { a };\n");
    });

    it("when deployment code imports a service's metric declarations, then lint allows it; anything else of a service fails", async () => {
      for (const path of ['observability/grafana/x.ts', 'ops/lib/x.ts', 'cdk8s/x.ts', 'mesh/x.ts'])
        await expectAllowed(path, "import { a } from '@meshmart/checkout/metrics';\nexport { a };\n");
      await expectBanned(
        'observability/x.ts',
        "import { a } from '@meshmart/checkout';",
        'observability/ may import only',
      );
      await expectBanned(
        'observability/x.ts',
        "import { a } from '@meshmart/checkout/app';",
        'observability/ may import only',
      );
      await expectBanned('ops/lib/x.ts', "import { a } from '@meshmart/orders';", 'ops/ may import only');
      await expectBanned('ops/lib/x.ts', "import { a } from '@meshmart/kit';", 'ops/ may import only');
      await expectAllowed(
        'ops/lib/x.ts',
        "import { a } from '@meshmart/kit/metric-declarations';\nimport { b } from '@meshmart/kit/metrics';\nexport { a, b };\n",
      );
      await expectBanned(
        'services/cart/src/x.ts',
        "import { a } from '@meshmart/orders/metrics';",
        'services/cart/ imports only',
      );
    });

    it('when ops/ imports scripts/, then lint fails, save the manifest reader the table names', async () => {
      await expectBanned(
        'ops/lib/x.ts',
        "import { a } from '../../scripts/load.ts';",
        'ops/ does not import scripts/',
      );
      await expectBanned(
        'ops/x.ts',
        "await import('../scripts/system.ts');",
        'ops/ does not import scripts/',
      );
      await expectAllowed(
        'ops/lib/x.ts',
        "import { a } from '../../scripts/kind-manifests.ts';\nexport { a };\n",
      );
      await expectAllowed('ops/lib/x.ts', "import { a } from '@meshmart/cdk8s/config.ts';\nexport { a };\n");
    });

    it('when a part imports another deployment part by package name, then lint allows what the table lists and fails the rest', async () => {
      const allowed: [string, string][] = [
        ['mesh/render/x.ts', '@meshmart/cdk8s/imports/appmesh.k8s.aws.ts'],
        ['observability/prometheus/x.ts', '@meshmart/mesh/names.ts'],
        ['cdk8s/constructs/x.ts', '@meshmart/mesh/model.ts'],
        ['cdk8s/constructs/observability/x.ts', '@meshmart/observability/index.ts'],
        ['ops/lib/x.ts', '@meshmart/mesh/names.ts'],
        ['infra/lib/x.ts', '@meshmart/cdk8s/profiles/index.ts'],
        ['scripts/x.ts', '@meshmart/mesh/names.ts'],
        ['bench/x.ts', '@meshmart/cdk8s/synth.ts'],
        ['test/ops/x.test.ts', '@meshmart/ops/lib/synth.ts'],
      ];
      for (const [path, specifier] of allowed)
        await expectAllowed(path, `import { a } from '${specifier}';\nexport { a };\n`);
      const banned: [string, string, string][] = [
        ['mesh/x.ts', '@meshmart/cdk8s/config.ts', 'mesh/ may import only'],
        ['mesh/render/x.ts', '@meshmart/observability/index.ts', 'mesh/ may import only'],
        ['mesh/x.ts', '@meshmart/ops/lib/synth.ts', 'mesh/ may import only'],
        ['observability/x.ts', '@meshmart/mesh/model.ts', 'observability/ may import only'],
        ['observability/x.ts', '@meshmart/cdk8s/config.ts', 'observability/ may import only'],
        ['cdk8s/x.ts', '@meshmart/ops/lib/synth.ts', 'cdk8s/ may import only'],
        ['ops/lib/x.ts', '@meshmart/observability/index.ts', 'ops/ may import only'],
        ['infra/lib/x.ts', '@meshmart/mesh/names.ts', 'infra/ may import of the deployment parts only'],
        ['scripts/x.ts', '@meshmart/ops/lib/synth.ts', 'scripts/ may import of the deployment parts only'],
        ['scripts/x.ts', '@meshmart/mesh/model.ts', 'scripts/ may import of the deployment parts only'],
      ];
      for (const [path, specifier, says] of banned)
        await expectBanned(path, `import { a } from '${specifier}';`, says);
    });

    it('when runtime code imports a deployment part by package name, then lint fails', async () => {
      const says = 'runtime code (services/) never imports deployment code';
      await expectBanned('services/cart/src/x.ts', "import { a } from '@meshmart/mesh/names.ts';", says);
      await expectBanned(
        'services/kit/src/x.ts',
        "import type { A } from '@meshmart/cdk8s/config.ts';",
        says,
      );
      await expectBanned(
        'services/catalogue/src/x.ts',
        "await import('@meshmart/observability/index.ts');",
        says,
      );
      await expectBanned(
        'services/gateway/src/x.ts',
        "export { a } from '@meshmart/ops/lib/synth.ts';",
        says,
      );
    });

    it('when a file imports a deployment part by a relative path from outside it, then lint fails and says to use the package name', async () => {
      const says = 'by package name (@meshmart/<part>/<file>.ts), never by a path';
      await expectBanned('cdk8s/constructs/x.ts', "import { a } from '../../mesh/model.ts';", says);
      await expectBanned(
        'cdk8s/constructs/observability/x.ts',
        "import { a } from '../../../observability/index.ts';",
        says,
      );
      await expectBanned('observability/prometheus/x.ts', "import { a } from '../../mesh/names.ts';", says);
      await expectBanned(
        'mesh/render/x.ts',
        "import { a } from '../../cdk8s/imports/appmesh.k8s.aws.ts';",
        says,
      );
      await expectBanned('ops/lib/x.ts', "import { a } from '../../cdk8s/config.ts';", says);
      await expectBanned('infra/lib/constructs/x.ts', "import { a } from '../../../cdk8s/config.ts';", says);
      await expectBanned('scripts/x.ts', "await import('../mesh/names.ts');", says);
      await expectBanned('bench/x.ts', "import { a } from '../cdk8s/synth.ts';", says);
      await expectBanned('test/ops/x.test.ts', "import { a } from '../../ops/lib/deploy.ts';", says);
      await expectBanned('test/x.test.ts', "import type { A } from '../observability/index.ts';", says);
      // inside a part, and a test's own folders named like one, stay relative
      await expectAllowed(
        'cdk8s/constructs/observability/x.ts',
        "import { a } from '../namespace.ts';\nexport { a };\n",
      );
      await expectAllowed(
        'test/observability/x.test.ts',
        "import { a } from '../cdk8s/support.ts';\nexport { a };\n",
      );
    });

    it('when scripts/, bench/ or ops/ import the kit or the catalogue by path, then lint fails; other services and tests pass', async () => {
      await expectBanned('scripts/x.ts', "import { a } from '../services/kit/src/index.ts';", 'scripts/');
      await expectBanned(
        'scripts/x.ts',
        "import { a } from '../services/catalogue/src/catalogue.ts';",
        'scripts/',
      );
      await expectBanned(
        'bench/x.ts',
        "import type { A } from '../services/catalogue/src/catalogue.ts';",
        'bench/',
      );
      await expectBanned(
        'ops/x.ts',
        "import { a } from '../services/catalogue/src/catalogue.ts';",
        'ops/ imports the catalogue by its package name',
      );
      await expectBanned('bench/x.ts', "import { a } from '../services/kit/src/http/index.ts';", 'bench/');
      await expectAllowed(
        'scripts/x.ts',
        "import { a } from '../services/checkout/src/domain/checkout-saga.ts';\nexport { a };\n",
      );
      await expectAllowed(
        'test/x.test.ts',
        "import { a } from '../services/kit/src/http/retry.ts';\nexport { a };\n",
      );
    });
  });
});
