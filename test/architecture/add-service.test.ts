import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { catalogue } from '@meshmart/catalogue';
import { startRunner } from '../support/start-runner.ts';
import { until } from '../support/wait.ts';

// Issue 15 (one source of truth): adding an internal service is one catalogue entry and one service folder. This
// adds a throw-away `reviews` to a temporary copy of the repository, runs every generator there (synth of every
// profile, the observability files, the Helm chart) and the local runner, and checks that reviews is wherever an
// existing internal service is, with exactly the edges its entry gives. docs/architecture.md lists what it takes.

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const NAME = 'reviews';
const PORT = 8088;
/** The existing internal service reviews is compared with: it keeps its data in MongoDB, as reviews does. */
const TWIN = 'orders';
/** An existing service that calls exactly what reviews calls (catalog), found from the catalogue. */
const CALLS_CATALOG = catalogue.find(
  (s) => !s.public && s.dependsOn.length === 1 && s.dependsOn[0] === 'catalog',
)!.name;
const TWIN_PORT = catalogue.find((s) => s.name === TWIN)!.port;
const CATALOG_PORT = catalogue.find((s) => s.name === 'catalog')!.port;
const MONGODB_PORT = 27017;
const REDIS_PORT = 6379;

const ENTRY = `  ${NAME}: {
    description: 'Product reviews (a throw-away entry of test/architecture/add-service.test.ts)',
    port: ${PORT},
    dependsOn: ['catalog'],
    datastores: ['mongodb'],
    publishes: [],
    consumes: [],
    public: false,
  },
`;

/** The service folder, modelled on the smallest service: package.json, src/service.ts, src/app.ts, src/main.ts. */
const FOLDER: Readonly<Record<string, string>> = {
  'package.json': `${JSON.stringify(
    {
      name: `@meshmart/${NAME}`,
      version: '0.1.0',
      private: true,
      type: 'module',
      exports: { '.': './src/service.ts', './app': './src/app.ts' },
      dependencies: { '@meshmart/catalogue': '0.1.0', '@meshmart/kit': '0.1.0' },
    },
    null,
    2,
  )}\n`,
  'src/service.ts': `import { service } from '@meshmart/catalogue';
import { defineService, openStores, storeSettings, upstreamUrl } from '@meshmart/kit';

export const definition = defineService({
  service: '${NAME}',
  defaultPort: service('${NAME}').port,
  settings: { ...storeSettings('${NAME}'), catalogUrl: upstreamUrl('catalog') },
  build: async (kit) => {
    const stores = await openStores({ ...kit, service: '${NAME}' });
    const { createApp } = await import('./app.ts');
    return { app: createApp(kit), closers: [...stores.closers] };
  },
});
`,
  'src/app.ts': `import { createServiceApp, type Health, type Logger, type Metrics } from '@meshmart/kit';

export function createApp(deps: { readonly logger: Logger; readonly metrics: Metrics; readonly health: Health }) {
  return createServiceApp({
    service: '${NAME}',
    logger: deps.logger,
    metrics: deps.metrics,
    health: deps.health,
    routers: [],
    openapi: { title: 'MeshMart ${NAME}', version: '1.0.0', description: 'Product reviews' },
  });
}
`,
  'src/main.ts': `import { runService } from '@meshmart/kit';
import { definition } from './service.ts';

await runService(definition);
`,
};

interface Obj {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [k: string]: unknown;
}
interface Rule {
  readonly ports?: readonly { readonly port: number }[];
  readonly from?: readonly Record<string, unknown>[];
  readonly to?: readonly Record<string, unknown>[];
}
interface PolicySpec {
  readonly ingress?: readonly Rule[];
  readonly egress?: readonly Rule[];
}
interface PodTemplate {
  readonly metadata: {
    readonly labels: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly spec: {
    readonly containers: readonly { readonly ports?: readonly { name?: string; containerPort: number }[] }[];
  };
}

/**
 * Copies the working tree's files (tracked, and new ones not ignored: a change in progress is tested as it stands)
 * and links node_modules, with the workspaces pointing into the copy.
 */
async function copyRepository(to: string): Promise<void> {
  const { stdout } = await execFileAsync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      maxBuffer: 16 << 20,
    },
  );
  for (const file of stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(to, file)), { recursive: true });
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), join(to, file));
    else copyFileSync(from, join(to, file));
  }
  // node_modules/@meshmart/* are relative links to the workspaces (../../services/*, ../../mesh, ../../cdk8s, …):
  // re-made in the copy from its package.json's workspaces, they resolve to the copy's folders (the new service
  // included); every other package is the original's.
  mkdirSync(join(to, 'node_modules/@meshmart'), { recursive: true });
  for (const entry of readdirSync(join(ROOT, 'node_modules')))
    if (entry !== '@meshmart')
      symlinkSync(join(ROOT, 'node_modules', entry), join(to, 'node_modules', entry));
  const { workspaces } = JSON.parse(readFileSync(join(to, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  const folders = workspaces.flatMap((w) =>
    w.endsWith('/*') ? readdirSync(join(to, w.slice(0, -2))).map((pkg) => `${w.slice(0, -2)}/${pkg}`) : [w],
  );
  for (const folder of folders.filter((f) => existsSync(join(to, f, 'package.json')))) {
    const { name } = JSON.parse(readFileSync(join(to, folder, 'package.json'), 'utf8')) as { name: string };
    symlinkSync(`../../${folder}`, join(to, 'node_modules', name));
  }
  for (const pkg of readdirSync(join(ROOT, 'services')))
    if (existsSync(join(ROOT, 'services', pkg, 'node_modules')))
      symlinkSync(join(ROOT, 'services', pkg, 'node_modules'), join(to, 'services', pkg, 'node_modules'));
}

/** The catalogue entry: the name at the end of SERVICE_NAMES, the entry at the end of the record. */
function addEntry(copy: string): void {
  const file = join(copy, 'services/catalogue/src/catalogue.ts');
  const text = readFileSync(file, 'utf8');
  const names = /(export const SERVICE_NAMES = \[[^\]]*?)(\] as const;)/.exec(text);
  const record = /(const entries\b[^\n]*= \{\n[\s\S]*?\n)(\}[^\n]*;\n)/.exec(text);
  if (!names || !record)
    throw new Error('add-service: catalogue.ts no longer has SERVICE_NAMES or `const entries`');
  writeFileSync(
    file,
    text
      .replace(names[0], `${names[1]}  '${NAME}',\n${names[2]}`)
      .replace(record[0], `${record[1]}${ENTRY}${record[2]}`),
  );
}

async function run(copy: string, script: string, ...args: string[]): Promise<void> {
  await execFileAsync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: copy,
    maxBuffer: 64 << 20,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
}

function objectsIn(dir: string): Map<string, Obj[]> {
  const files = new Map<string, Obj[]>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort())
    files.set(
      file,
      parseAllDocuments(readFileSync(join(dir, file), 'utf8'))
        .map((d) => d.toJS() as Obj | null)
        .filter((o): o is Obj => o !== null),
    );
  return files;
}

/** Objects named after a service (`orders`, `orders-v1`, `allow-orders`, `dashboard-meshmart-service-orders`, …). */
function ownObjects(files: Map<string, Obj[]>, service: string): string[] {
  const own = new RegExp(`(^|-)${service}(-|$)`);
  return [...files]
    .flatMap(([file, objects]) =>
      objects
        .filter((o) => own.test(o.metadata.name))
        .map((o) => `${file} ${o.kind} ${o.metadata.name.replace(own, '$1<service>$2')}`),
    )
    .sort();
}

function find(files: Map<string, Obj[]>, kind: string, name: string): Obj | undefined {
  return [...files.values()].flat().find((o) => o.kind === kind && o.metadata.name === name);
}

function get(files: Map<string, Obj[]>, kind: string, name: string): Obj {
  const o = find(files, kind, name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
}

const rules = (spec: PolicySpec, way: 'ingress' | 'egress'): string[] =>
  (spec[way] ?? []).map((r) => JSON.stringify(r)).sort();
const onPort = (rule: string, port: number): boolean =>
  (JSON.parse(rule) as Rule).ports?.some((p) => p.port === port) ?? false;

describe('architecture: adding an internal service is one catalogue entry and one service folder', function () {
  // Copying ~800 files, three generator runs and the one-process runner take 15-25 s on a quiet machine; CI runs
  // on two cores beside a CPU hog, so the budget is generous.
  this.timeout(180_000);
  let copy: string;
  let profiles: Map<string, Map<string, Obj[]>>;
  /** Generated files that adding reviews must change, and their text before. */
  let unchanged: Map<string, string>;

  before(async function () {
    copy = mkdtempSync(join(tmpdir(), 'meshmart-add-service-'));
    await copyRepository(copy);
    const text = (f: string) => readFileSync(join(copy, f), 'utf8');
    unchanged = new Map(
      [
        'observability/grafana/dashboards/meshmart-slos.json',
        'charts/meshmart/templates/20-services.yaml',
      ].map((f) => [f, text(f)]),
    );
    addEntry(copy);
    for (const [file, text] of Object.entries(FOLDER)) {
      mkdirSync(dirname(join(copy, 'services', NAME, file)), { recursive: true });
      writeFileSync(join(copy, 'services', NAME, file), text);
    }
    // What `npm install` does for a new workspace (it also records it in package-lock.json).
    symlinkSync(`../../services/${NAME}`, join(copy, 'node_modules/@meshmart', NAME));
    // `make chart` is these two; `make observability` is generate.ts then promtool.
    await Promise.all([
      run(copy, 'cdk8s/main.ts', '--example-values').then(() => run(copy, 'scripts/build-chart.ts')),
      run(copy, 'observability/generate.ts'),
    ]);
    profiles = new Map(readdirSync(join(copy, 'dist')).map((p) => [p, objectsIn(join(copy, 'dist', p))]));
    for (const [f, before] of unchanged) if (text(f) !== before) unchanged.delete(f);
  });

  after(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('when synthesized, then every profile gives reviews each object orders has, but the routes only a called service gets', () => {
    expect([...profiles.keys()]).to.include.members(['kind', 'eks-appmesh', 'eks-lattice', 'migration']);
    for (const [profile, files] of profiles) {
      // The Gateway API renderer gives an HTTPRoute and its IAMAuthPolicy only to a service that has callers
      // (mesh/render/gateway-api.ts); nobody calls reviews.
      const expected = ownObjects(files, TWIN).filter((o) => !/ (HTTPRoute|IAMAuthPolicy) /.test(o));
      expect(ownObjects(files, NAME), profile).to.deep.equal(expected);
      expect(find(files, 'Deployment', NAME), `${profile}: Deployment`).to.not.equal(undefined);
    }
  });

  it('when synthesized, then the pod is scraped as every service is, on its catalogue port', () => {
    for (const [profile, files] of profiles) {
      const template = (name: string) =>
        (get(files, 'Deployment', name) as unknown as { spec: { template: PodTemplate } }).spec.template;
      const own = template(NAME);
      const twin = template(TWIN);
      // The scrape configuration selects pods by these labels and reads the port from the annotation.
      const normalized = (t: PodTemplate, name: string, port: number) =>
        JSON.stringify(t.metadata).replaceAll(`"${name}"`, '"<service>"').replaceAll(`"${port}"`, '"<port>"');
      expect(normalized(own, NAME, PORT), profile).to.equal(normalized(twin, TWIN, TWIN_PORT));
      expect(own.metadata.annotations?.['prometheus.io/port'], profile).to.equal(String(PORT));
      expect(own.spec.containers[0].ports?.find((p) => p.name === 'http')?.containerPort, profile).to.equal(
        PORT,
      );
    }
  });

  it('when synthesized, then reviews is configured to call exactly catalog, as the service that calls only catalog is', () => {
    for (const [profile, files] of profiles) {
      const settings = (name: string) =>
        (get(files, 'ConfigMap', `${name}-settings`) as unknown as { data: Record<string, string> }).data;
      const own = settings(NAME);
      const caller = Object.entries(settings(CALLS_CATALOG)).filter(
        ([k]) => k === 'CATALOG_URL' || k.startsWith('UPSTREAM_CATALOG_'),
      );
      expect(caller.length, profile).to.be.greaterThan(1);
      for (const [k, v] of caller) expect(own[k], `${profile}: ${k}`).to.equal(v);
      expect(own.PORT, profile).to.equal(String(PORT));
      expect(own.MONGO_DATABASE, profile).to.equal(`meshmart_${NAME}`);
      expect(
        Object.keys(own).filter((k) => /_URL$/.test(k) && !/^(MONGO|REDIS|CATALOG)_URL$/.test(k)),
      ).to.deep.equal([]);
      for (const s of catalogue)
        expect(
          find(files, 'ConfigMap', `${s.name}-settings`)?.data,
          `${profile}: ${s.name}`,
        ).to.not.have.property('REVIEWS_URL');
    }
  });

  it('when synthesized, then its NetworkPolicy lets it reach catalog and its datastore, and lets no service in', () => {
    for (const [profile, files] of profiles) {
      const spec = (name: string) =>
        (get(files, 'NetworkPolicy', `allow-${name}`) as { spec?: PolicySpec }).spec!;
      const own = spec(NAME);
      const twin = spec(TWIN);
      // Egress: what the service that calls only catalog may reach, with MongoDB in place of that service's Redis.
      const expected = [
        ...rules(spec(CALLS_CATALOG), 'egress').filter((r) => !onPort(r, REDIS_PORT)),
        ...rules(twin, 'egress').filter((r) => onPort(r, MONGODB_PORT)),
      ].sort();
      expect(rules(own, 'egress'), `${profile}: egress`).to.deep.equal(expected);
      // Ingress: what orders lets in besides its callers (the scraper), on reviews' port. Callers come in as pods
      // of the namespace (a podSelector) or, with Lattice, from its address range (an ipBlock).
      const callerRule = (r: string) => r.includes('"ipBlock"') || r.includes('"podSelector"');
      const ingress = rules(own, 'ingress');
      expect(ingress, `${profile}: ingress`).to.deep.equal(
        rules(twin, 'ingress')
          .filter((r) => !callerRule(r))
          .map((r) => r.replaceAll(String(TWIN_PORT), String(PORT))),
      );
      expect(ingress.length, `${profile}: ingress`).to.be.greaterThan(0);
      if (!profile.includes('lattice')) {
        const catalogIn = rules(spec('catalog'), 'ingress').filter((r) => onPort(r, CATALOG_PORT));
        expect(catalogIn.join('\n'), `${profile}: catalog's ingress`).to.match(new RegExp(`"${NAME}"`));
      }
    }
  });

  it('when rendered for App Mesh, then reviews has catalog as its one backend and is nobody’s backend', () => {
    const appMesh = [...profiles].filter(([, files]) => files.has('40-app-mesh.yaml'));
    expect(appMesh.map(([p]) => p)).to.include.members(['eks-appmesh', 'migration']);
    for (const [profile, files] of appMesh) {
      const nodes = files.get('40-app-mesh.yaml')!.filter((o) => o.kind === 'VirtualNode');
      const backends = (o: Obj) =>
        (
          (
            o as unknown as {
              spec: { backends?: { virtualService: { virtualServiceRef: { name: string } } }[] };
            }
          ).spec.backends ?? []
        ).map((b) => b.virtualService.virtualServiceRef.name);
      expect(backends(nodes.find((o) => o.metadata.name === `${NAME}-v1`)!), profile).to.deep.equal([
        'catalog',
      ]);
      expect(
        nodes.filter((o) => backends(o).includes(NAME)).map((o) => o.metadata.name),
        profile,
      ).to.deep.equal([]);
    }
  });

  it('when rendered for VPC Lattice, then catalog’s IAMAuthPolicy admits reviews’ role', () => {
    const lattice = [...profiles].filter(([, files]) =>
      [...files.values()].flat().some((o) => o.kind === 'IAMAuthPolicy'),
    );
    expect(lattice.map(([p]) => p)).to.include.members(['eks-lattice', 'migration']);
    for (const [profile, files] of lattice) {
      const policy = (get(files, 'IAMAuthPolicy', 'catalog') as unknown as { spec: { policy: string } }).spec
        .policy;
      expect(policy, profile).to.match(new RegExp(`role/[\\w-]*${NAME}"`));
    }
  });

  it('when the observability files are generated, then reviews has each file orders has, and the SLO dashboard lists it', () => {
    const walk = (dir: string): string[] =>
      readdirSync(join(copy, dir), { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(copy.length + 1));
    const files = walk('observability');
    const twins = files.filter((f) => new RegExp(`(^|[-/])${TWIN}[-.]`).test(f));
    expect(twins.length).to.be.greaterThan(1);
    for (const f of twins) {
      const own = f.replace(TWIN, NAME);
      expect(files, f).to.include(own);
      const text = readFileSync(join(copy, own), 'utf8');
      expect(text, own).to.include(NAME);
      expect(text, own).to.not.match(new RegExp(`\\b${TWIN}\\b`));
    }
    expect(
      readFileSync(join(copy, 'observability/grafana/dashboards/meshmart-slos.json'), 'utf8'),
    ).to.include(`${NAME} availability`);
    expect([...unchanged.keys()], 'generated files that adding reviews left as they were').to.deep.equal([]);
    // The rule files reach every profile's Prometheus: each ConfigMap key named after orders has a reviews twin.
    for (const [profile, objects] of profiles) {
      const keys = [...objects.values()]
        .flat()
        .filter((o) => o.kind === 'ConfigMap')
        .flatMap((o) => Object.keys((o as unknown as { data?: object }).data ?? {}));
      for (const k of keys.filter((k) => k.includes(TWIN)))
        expect(keys, `${profile}: ${k}`).to.include(k.replace(TWIN, NAME));
    }
  });

  it('when the chart is built, then each template that names orders names reviews', () => {
    const dir = join(copy, 'charts/meshmart/templates');
    const named = readdirSync(dir).filter((f) => /\borders\b/.test(readFileSync(join(dir, f), 'utf8')));
    expect(named).to.include.members(['20-services.yaml', '30-network-policies.yaml']);
    for (const f of named)
      expect(readFileSync(join(dir, f), 'utf8'), f).to.match(new RegExp(`\\b${NAME}\\b`));
    expect(readFileSync(join(dir, '20-services.yaml'), 'utf8')).to.match(new RegExp(`\\n  name: ${NAME}\\n`));
  });

  it('when `make start` runs in the copy, then reviews is listed and answers ready', async () => {
    const runner = startRunner(copy, ['--free-ports']);
    try {
      let exited = false;
      void runner.exit.then(() => (exited = true));
      await until(
        () =>
          Promise.resolve(runner.output().includes('Ctrl-C stops everything') || exited ? true : undefined),
        'make start in the copy to print that it is up',
        120_000,
        100,
      );
      expect(exited, runner.output()).to.equal(false);
      const url = new RegExp(`● ${NAME}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(runner.output())?.[1];
      expect(url, runner.output()).to.be.a('string');
      const res = await fetch(`${url!}/healthz/ready`);
      expect(res.status).to.equal(200);
    } finally {
      if (runner.child.exitCode === null) {
        runner.child.kill('SIGTERM');
        await runner.exit;
      }
    }
  });
});
