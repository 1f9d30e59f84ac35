import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** A service's metric declarations, `services/<service>/src/metrics.ts` (the kit's own metrics.ts is its runtime). */
const SERVICE_METRICS = /^services\/(?!kit\/)[^/]+\/src\/metrics\.ts$/;

/**
 * What each part may import besides itself (paths from the repository root, a prefix each), as docs/architecture.md
 * tables them. The first rule whose `part` a file is under applies.
 */
const RULES: readonly { readonly part: string; readonly may: readonly (string | RegExp)[] }[] = [
  { part: 'services/catalogue/', may: [] },
  { part: 'services/kit/', may: ['services/catalogue/'] },
  { part: 'services/contracts/', may: ['services/catalogue/', 'services/kit/'] },
  { part: 'services/web/', may: [] },
  {
    part: 'services/gateway/',
    may: ['services/catalogue/', 'services/kit/', 'services/contracts/', 'services/web/'],
  },
  { part: 'services/', may: ['services/catalogue/', 'services/kit/', 'services/contracts/'] },
  {
    part: 'mesh/',
    may: [
      'services/catalogue/',
      'services/kit/src/http/upstream-policy.ts',
      SERVICE_METRICS,
      'cdk8s/imports/',
    ],
  },
  {
    part: 'observability/',
    may: ['services/catalogue/', 'services/kit/src/metric-declarations.ts', SERVICE_METRICS, 'mesh/names.ts'],
  },
  { part: 'cdk8s/', may: ['services/catalogue/', SERVICE_METRICS, 'mesh/', 'observability/'] },
  { part: 'infra/', may: ['cdk8s/', 'services/catalogue/'] },
  {
    part: 'ops/',
    may: [
      'cdk8s/',
      'mesh/',
      'scripts/kind-manifests.ts',
      'services/catalogue/',
      'services/kit/src/metric-declarations.ts',
      'services/kit/src/metrics.ts',
      SERVICE_METRICS,
    ],
  },
  { part: 'scripts/', may: ['services/', 'cdk8s/', 'mesh/names.ts'] },
];
const SKIP = new Set(['node_modules', 'cdk.out', 'dist', 'imports']);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .filter((f) => !f.split('/').some((segment) => SKIP.has(segment)));
}

/** Each workspace package's folder (from the repository root, with a trailing '/'), by its name after `@meshmart/`. */
const WORKSPACES = new Map(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces
    .flatMap((w) =>
      w.endsWith('/*')
        ? readdirSync(join(ROOT, w.slice(0, -2))).map((pkg) => `${w.slice(0, -2)}/${pkg}`)
        : [w],
    )
    .filter((folder) => existsSync(join(ROOT, folder, 'package.json')))
    .map((folder) => {
      const { name } = JSON.parse(readFileSync(join(ROOT, folder, 'package.json'), 'utf8')) as {
        name: string;
      };
      return [name.replace(/^@meshmart\//, ''), `${folder}/`];
    }),
);

/** `@meshmart/<pkg>[/sub]` to the file its package.json exports (a subpath or a `./*` pattern). */
function workspaceFile(specifier: string): string | undefined {
  const m = /^@meshmart\/([^/]+)(\/.*)?$/.exec(specifier);
  if (!m) return undefined;
  const folder = WORKSPACES.get(m[1]) ?? `services/${m[1]}/`;
  const pkgFile = join(ROOT, folder, 'package.json');
  if (!existsSync(pkgFile)) return folder;
  const exports = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, string> }).exports;
  const subpath = `.${m[2] ?? ''}`;
  const target =
    exports?.[subpath] ?? (m[2] !== undefined && exports?.['./*'] === './*' ? subpath : undefined);
  return typeof target === 'string' ? join(folder, target) : folder;
}

/** Every repository file a source imports (relative paths and workspace packages; npm packages are not parts). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: string[] = [];
  for (const [, spec] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
    if (spec.startsWith('.')) found.push(relative(ROOT, resolve(dirname(join(ROOT, file)), spec)));
    else {
      const target = workspaceFile(spec);
      if (target) found.push(target);
    }
  }
  return found;
}

/** The imports of `file` that its part may not make. */
function breachesOf(file: string, imports: readonly string[]): string[] {
  const rule = RULES.find((r) => file.startsWith(r.part));
  if (!rule) return [];
  const own = rule.part === 'services/' ? `${file.split('/').slice(0, 2).join('/')}/` : rule.part;
  return imports
    .filter(
      (target) =>
        !target.startsWith(own) &&
        !rule.may.some((p) => (typeof p === 'string' ? target.startsWith(p) : p.test(target))),
    )
    .map((target) => `${file} imports ${target}`);
}

// docs/architecture.md "The parts, and what each may import": runtime code never imports deployment code, no
// service imports another, and each deployment part reads only what the table says.
describe('architecture: what each part imports', () => {
  const parts = ['services', 'mesh', 'observability', 'cdk8s', 'infra', 'ops', 'scripts'];

  it('when every source file of every part is read, then each import is one the table allows', () => {
    const files = parts.flatMap(sources);
    expect(files.length).to.be.greaterThan(200);
    expect(files.flatMap((f) => breachesOf(f, importsOf(f)))).to.deep.equal([]);
  });

  it('when a service imports another service or deployment code, then the check names each such import', () => {
    expect(importsOf('ops/lib/synth.ts')).to.include('cdk8s/profiles/index.ts');
    expect(importsOf('scripts/build-images.ts')).to.include('services/catalogue/src/index.ts');
    expect(breachesOf('services/catalogue/src/x.ts', ['services/kit/src/index.ts'])).to.deep.equal([
      'services/catalogue/src/x.ts imports services/kit/src/index.ts',
    ]);
    expect(
      breachesOf('services/catalog/src/app.ts', [
        'services/catalog/src/routes/product-routes.ts',
        'services/kit/src/index.ts',
        'services/cart/src/service.ts',
        'cdk8s/config.ts',
      ]),
    ).to.deep.equal([
      'services/catalog/src/app.ts imports services/cart/src/service.ts',
      'services/catalog/src/app.ts imports cdk8s/config.ts',
    ]);
  });
});
