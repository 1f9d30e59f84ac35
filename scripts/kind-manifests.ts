// What scripts/kind-up.sh needs to know about a profile's synthesized manifests (dist/<profile>/*.yaml) and the
// catalogue, computed locally and read-only:
//
//   npx tsx scripts/kind-manifests.ts phases <dir> <outdir>   split into <outdir>/0-crds.yaml (the CRDs the objects use:
//                                                                their own, else the vendored ones of cdk8s/crds/),
//                                                                1-namespaces.yaml and 2-objects.yaml; prints the files
//                                                                written, in apply order
//   npx tsx scripts/kind-manifests.ts workloads [dir]          `<namespace> <kind> <name>` of every workload to wait for
//   npx tsx scripts/kind-manifests.ts gateway [dir]            `<namespace> <service> <port>` of the public service
//   npx tsx scripts/kind-manifests.ts secrets <dir>            `<namespace> <secret> <key>...` of every Secret the
//                                                                objects reference (secretKeyRef) but do not contain:
//                                                                on kind they are made up with random values
//
// Without manifests (a dry run before `make synth`), the workloads and the gateway come from the catalogue alone.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { catalogue } from '@meshmart/catalogue';
import { APP_NAMESPACE } from '@meshmart/mesh/names.ts';

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}

/** The app's namespace when the manifests do not say (the shared decision). */
export const DEFAULT_NAMESPACE = APP_NAMESPACE;

const WORKLOAD_KINDS = ['StatefulSet', 'Deployment', 'DaemonSet'];

/** Every object of every `*.yaml` file of dir, files in name order, documents in file order. */
export function readManifests(dir: string, files?: readonly string[]): Manifest[] {
  const objects: Manifest[] = [];
  const names = files ?? readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  for (const file of [...names].sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`kind-manifests: ${file}: ${doc.errors[0].message}`);
      const value = doc.toJS() as Manifest | null;
      if (value === null) continue;
      if (!value.kind || !value.apiVersion || !value.metadata?.name)
        throw new Error(`kind-manifests: ${file}: a document without apiVersion, kind or metadata.name`);
      objects.push(value);
    }
  }
  return objects;
}

export interface Phases {
  /** CustomResourceDefinitions: the manifests' own, plus the vendored ones (cdk8s/crds/) of the kinds they use. */
  readonly crds: Manifest[];
  readonly namespaces: Manifest[];
  /** Everything else, in input order. */
  readonly objects: Manifest[];
}

const defaultCrdsDir = fileURLToPath(new URL('../cdk8s/crds/', import.meta.url));

/** Every CRD under dir (recursively), keyed by `<group>/<kind>`. */
export function vendoredCrds(dir: string = defaultCrdsDir): Map<string, Manifest> {
  const byKind = new Map<string, Manifest>();
  if (!existsSync(dir)) return byKind;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.yaml')) continue;
    for (const crd of readManifests(entry.parentPath, [entry.name])) {
      if (crd.kind !== 'CustomResourceDefinition') continue;
      const spec = crd.spec as { group: string; names: { kind: string } };
      byKind.set(`${spec.group}/${spec.names.kind}`, crd);
    }
  }
  return byKind;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

/** Apply phases: CRDs (then wait until established), Namespaces, then the rest. */
export function phases(objects: readonly Manifest[], crds: Map<string, Manifest> = vendoredCrds()): Phases {
  const own = objects.filter((o) => o.kind === 'CustomResourceDefinition');
  const ownNames = new Set(own.map((o) => o.metadata.name));
  const needed: Manifest[] = [];
  for (const o of objects) {
    const crd = crds.get(`${groupOf(o.apiVersion)}/${o.kind}`);
    if (crd && !ownNames.has(crd.metadata.name)) {
      ownNames.add(crd.metadata.name);
      needed.push(crd);
    }
  }
  return {
    crds: [...own, ...needed],
    namespaces: objects.filter((o) => o.kind === 'Namespace'),
    objects: objects.filter((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition'),
  };
}

export interface Workload {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}

/**
 * What to wait for: a Deployment per catalogue service (whether or not manifests exist), then every other workload of
 * the manifests (datastores first, then canaries and the rest), each once.
 */
export function workloads(objects: readonly Manifest[] = []): Workload[] {
  const namespaceOf = (name: string): string =>
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.metadata.namespace ??
    DEFAULT_NAMESPACE;
  const fromManifests = objects
    .filter((o) => WORKLOAD_KINDS.includes(o.kind))
    .map((o) => ({ namespace: o.metadata.namespace ?? 'default', kind: o.kind, name: o.metadata.name }))
    .sort((a, b) => WORKLOAD_KINDS.indexOf(a.kind) - WORKLOAD_KINDS.indexOf(b.kind));
  const datastores = fromManifests.filter((w) => w.kind === 'StatefulSet');
  const services = catalogue.map((s) => ({
    namespace: namespaceOf(s.name),
    kind: 'Deployment',
    name: s.name,
  }));
  const seen = new Set<string>();
  const result: Workload[] = [];
  for (const w of [...datastores, ...services, ...fromManifests]) {
    const key = `${w.namespace}/${w.kind}/${w.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(w);
  }
  return result;
}

/** The public service of the catalogue (the gateway), its namespace and port. */
export function gateway(objects: readonly Manifest[] = []): {
  namespace: string;
  name: string;
  port: number;
} {
  const entry = catalogue.find((s) => s.public);
  if (!entry) throw new Error('kind-manifests: no public service in the catalogue');
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === entry.name);
  return { namespace: svc?.metadata.namespace ?? DEFAULT_NAMESPACE, name: entry.name, port: entry.port };
}

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
  readonly keys: readonly string[];
}

/** Secrets referenced by `valueFrom.secretKeyRef` and not among the objects, with the keys asked for (sorted). */
export function referencedSecrets(objects: readonly Manifest[]): SecretRef[] {
  const defined = new Set(
    objects
      .filter((o) => o.kind === 'Secret')
      .map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`),
  );
  const found = new Map<string, Set<string>>();
  const visit = (value: unknown, namespace: string): void => {
    if (Array.isArray(value)) for (const v of value) visit(v, namespace);
    else if (value !== null && typeof value === 'object') {
      const ref = (value as { secretKeyRef?: { name?: string; key?: string } }).secretKeyRef;
      if (ref?.name && ref.key) {
        const id = `${namespace}/${ref.name}`;
        if (!defined.has(id)) found.set(id, (found.get(id) ?? new Set()).add(ref.key));
      }
      for (const v of Object.values(value)) visit(v, namespace);
    }
  };
  for (const o of objects) visit(o, o.metadata.namespace ?? 'default');
  return [...found.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, keys]) => {
      const [namespace, name] = id.split('/') as [string, string];
      return { namespace, name, keys: [...keys].sort() };
    });
}

function toYaml(objects: readonly Manifest[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, version: '1.1' })).join('---\n');
}

function manifestsIfAny(dir: string | undefined): Manifest[] {
  return dir && existsSync(dir) ? readManifests(dir) : [];
}

function main(argv: readonly string[]): void {
  const [command, dir, outdir] = argv;
  if (command === 'phases' && dir && outdir) {
    if (!existsSync(dir))
      throw new Error(`kind-manifests: ${dir} does not exist: synthesize first (make synth)`);
    const p = phases(readManifests(dir));
    if (p.namespaces.length + p.objects.length === 0)
      throw new Error(`kind-manifests: no objects in ${dir}/*.yaml`);
    mkdirSync(outdir, { recursive: true });
    const files: string[] = [];
    for (const [name, objects] of [
      ['0-crds.yaml', p.crds],
      ['1-namespaces.yaml', p.namespaces],
      ['2-objects.yaml', p.objects],
    ] as const) {
      if (objects.length === 0) continue;
      const file = resolve(outdir, name);
      writeFileSync(file, toYaml(objects));
      files.push(file);
    }
    console.log(files.join('\n'));
  } else if (command === 'workloads') {
    for (const w of workloads(manifestsIfAny(dir))) console.log(`${w.namespace} ${w.kind} ${w.name}`);
  } else if (command === 'secrets') {
    for (const ref of referencedSecrets(manifestsIfAny(dir)))
      console.log(`${ref.namespace} ${ref.name} ${ref.keys.join(' ')}`);
  } else if (command === 'gateway') {
    const g = gateway(manifestsIfAny(dir));
    console.log(`${g.namespace} ${g.name} ${g.port}`);
  } else {
    console.error(
      'usage: kind-manifests.ts phases <dir> <outdir> | workloads [dir] | gateway [dir] | secrets <dir>',
    );
    process.exit(2);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
