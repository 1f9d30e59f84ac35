// Generates the Helm chart charts/meshmart from the synthesized manifests (dist/<profile>/*.yaml, written by
// `make synth`), for teams that deploy with Helm. The manifests stay the source of truth: the chart is the same objects
// with a few values pulled out, and `helm template` with a profile's values file renders exactly that profile's
// manifests.
//
//   npx tsx scripts/build-chart.ts [--dist dist] [--out charts/meshmart] [--check]
//
// --check writes nothing and exits 1 if the chart on disk differs from what would be generated.
//
// Values (one values-<profile>.yaml per profile; values.yaml holds the first profile's, kind when present):
//   profile            which profile's objects to render (objects common to several profiles are templated once)
//   namespace          the app namespace: metadata.namespace, the Namespace itself, namespace selectors and
//                      `<svc>.<namespace>.svc` host names
//   dataNamespace      the same for the in-cluster datastores' namespace (kind)
//   image.registry / image.repository / image.tag   the one image of every service (a canary's own tag stays)
//   replicas           replicas of each stable service Deployment and its HPA minimum
//   createNamespaces   render the Namespace objects (false when they are created outside Helm)
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { catalogue } from '@meshmart/catalogue';
import {
  APP_NAMESPACE,
  DATA_NAMESPACE,
  dataNamespaceFor,
  IMAGE_REPOSITORY,
  NAMESPACE_NAME_LABEL,
} from '@meshmart/mesh/names.ts';

/** Profile order in values and conditions; other profile directories follow alphabetically. */
export const PROFILE_ORDER = ['kind', 'eks-appmesh', 'eks-lattice', 'migration'];
/** The repository of the one image of every service (the registry varies by profile). */
export { IMAGE_REPOSITORY };
export const DEFAULT_NAMESPACE = APP_NAMESPACE;
export const DEFAULT_DATA_NAMESPACE = DATA_NAMESPACE;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

export interface ProfileValues {
  readonly profile: string;
  readonly namespace: string;
  readonly dataNamespace: string;
  readonly image: { readonly registry: string; readonly repository: string; readonly tag: string };
  readonly replicas: number;
  readonly createNamespaces: boolean;
}

export interface ChartFile {
  /** Path inside the chart directory. */
  readonly path: string;
  readonly content: string;
}

export interface GeneratedChart {
  readonly profiles: readonly string[];
  readonly values: Readonly<Record<string, ProfileValues>>;
  readonly files: readonly ChartFile[];
}

// Placeholders put into the objects before they are written as YAML, then replaced by template actions.
const T = {
  namespace: '__MESHMART_NAMESPACE__',
  dataNamespace: '__MESHMART_DATA_NAMESPACE__',
  image: '__MESHMART_IMAGE__',
  registryPrefix: '__MESHMART_REGISTRY_PREFIX__',
  replicas: '__MESHMART_REPLICAS__',
} as const;

const ACTIONS: Record<string, string> = {
  [T.namespace]: '{{ .Values.namespace }}',
  [T.dataNamespace]: '{{ .Values.dataNamespace }}',
  [T.image]: '{{ include "meshmart.image" . }}',
  [T.registryPrefix]: '{{ include "meshmart.registryPrefix" . }}',
  [T.replicas]: '{{ .Values.replicas }}',
};

/** `<dir>/*.yaml` by file name (sorted), each file's objects in order. */
export function readProfile(dir: string): Map<string, KubeObject[]> {
  const files = new Map<string, KubeObject[]>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const objects: KubeObject[] = [];
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`build-chart: ${dir}/${file}: ${doc.errors[0].message}`);
      const value = doc.toJS() as KubeObject | null;
      if (value !== null) objects.push(value);
    }
    files.set(file, objects);
  }
  return files;
}

/** The profiles under dist: directories holding at least one YAML file, in PROFILE_ORDER then alphabetically. */
export function profilesIn(dist: string): string[] {
  if (!existsSync(dist)) return [];
  const found = readdirSync(dist).filter(
    (d) =>
      statSync(join(dist, d)).isDirectory() && readdirSync(join(dist, d)).some((f) => f.endsWith('.yaml')),
  );
  const rank = (p: string): number =>
    PROFILE_ORDER.includes(p) ? PROFILE_ORDER.indexOf(p) : PROFILE_ORDER.length;
  return found.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function containersOf(o: KubeObject): { image?: string }[] {
  const spec = o.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return spec?.template?.spec?.containers ?? [];
}

const IMAGE_PATTERN = new RegExp(`^(?:(.+)/)?${IMAGE_REPOSITORY.replace('/', '\\/')}:([^:@/]+)$`);

/** The values that reproduce a profile: read from its public service's Deployment (the gateway). */
export function profileValues(profile: string, objects: readonly KubeObject[]): ProfileValues {
  const publicService = catalogue.find((s) => s.public)?.name ?? 'gateway';
  const deployment =
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name === publicService) ??
    objects.find(
      (o) => o.kind === 'Deployment' && containersOf(o).some((c) => IMAGE_PATTERN.test(c.image ?? '')),
    );
  if (!deployment)
    throw new Error(
      `build-chart: ${profile}: no Deployment of ${publicService} (nor any using ${IMAGE_REPOSITORY})`,
    );
  const image = containersOf(deployment)
    .map((c) => IMAGE_PATTERN.exec(c.image ?? ''))
    .find((m) => m !== null);
  if (!image)
    throw new Error(`build-chart: ${profile}: ${deployment.metadata.name} does not run ${IMAGE_REPOSITORY}`);
  const spec = deployment.spec as { replicas?: number };
  const namespace = deployment.metadata.namespace ?? DEFAULT_NAMESPACE;
  return {
    profile,
    namespace,
    dataNamespace: dataNamespaceFor(namespace),
    image: { registry: image[1] ?? '', repository: IMAGE_REPOSITORY, tag: image[2] },
    replicas: spec.replicas ?? 1,
    createNamespaces: true,
  };
}

const SERVICE_NAMES = new Set(catalogue.map((s) => s.name));
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The object with the values of `v` replaced by placeholders (a deep copy). */
function parameterize(o: KubeObject, v: ProfileValues): KubeObject {
  const nsToken = (s: string): string | undefined =>
    s === v.namespace ? T.namespace : s === v.dataNamespace ? T.dataNamespace : undefined;
  const hostPattern = new RegExp(
    `\\.(${escapeRegExp(v.dataNamespace)}|${escapeRegExp(v.namespace)})\\.svc\\b`,
    'g',
  );
  const registryPrefix = v.image.registry ? `${v.image.registry}/` : '';

  const walk = (value: Json, key: string): Json => {
    if (Array.isArray(value)) return value.map((item) => walk(item, key));
    if (value !== null && typeof value === 'object') {
      // matchExpressions: { key: kubernetes.io/metadata.name, operator: In, values: [<namespace>] }
      const isNamespaceExpression = value.key === NAMESPACE_NAME_LABEL;
      const out: { [k: string]: Json } = {};
      for (const [k, child] of Object.entries(value)) {
        if (isNamespaceExpression && k === 'values' && Array.isArray(child))
          out[k] = child.map((c) => (typeof c === 'string' ? (nsToken(c) ?? c) : c));
        else out[k] = walk(child, k);
      }
      return out;
    }
    if (typeof value !== 'string') return value;
    if (key === 'namespace' || key === NAMESPACE_NAME_LABEL) {
      const token = nsToken(value);
      if (token) return token;
    }
    if (key === 'image') {
      const m = IMAGE_PATTERN.exec(value);
      if (m && `${m[1] ? `${m[1]}/` : ''}` === registryPrefix)
        return m[2] === v.image.tag ? T.image : `${T.registryPrefix}${IMAGE_REPOSITORY}:${m[2]}`;
    }
    return value.replace(hostPattern, (_all, ns: string) => `.${nsToken(ns)}.svc`);
  };

  const copy = walk(o as unknown as Json, '') as unknown as KubeObject;
  if (o.kind === 'Namespace') {
    const token = nsToken(o.metadata.name);
    if (token) copy.metadata.name = token;
  }
  const spec = copy.spec as
    { replicas?: Json; minReplicas?: Json; scaleTargetRef?: { name?: string } } | undefined;
  if (spec && o.kind === 'Deployment' && SERVICE_NAMES.has(o.metadata.name) && spec.replicas === v.replicas)
    spec.replicas = T.replicas;
  if (
    spec &&
    o.kind === 'HorizontalPodAutoscaler' &&
    SERVICE_NAMES.has(spec.scaleTargetRef?.name ?? '') &&
    spec.minReplicas === v.replicas
  )
    spec.minReplicas = T.replicas;
  return copy;
}

/** YAML text of an object as a template: `{{`/`}}` in the manifests escaped, placeholders turned into actions. */
function templateText(o: KubeObject): string {
  const text = stringify(o, { lineWidth: 0, version: '1.1' }).replace(/\{\{|\}\}/g, (m) => `{{ "${m}" }}`);
  return text.replace(/__MESHMART_[A-Z_]+__/g, (token) => {
    const action = ACTIONS[token];
    if (!action) throw new Error(`build-chart: unknown placeholder ${token}`);
    return action;
  });
}

function list(profiles: readonly string[]): string {
  return `(list ${profiles.map((p) => JSON.stringify(p)).join(' ')})`;
}

function valuesYaml(v: ProfileValues, header: string): string {
  return `${header}${stringify(
    {
      profile: v.profile,
      namespace: v.namespace,
      dataNamespace: v.dataNamespace,
      image: v.image,
      replicas: v.replicas,
      createNamespaces: v.createNamespaces,
    },
    { lineWidth: 0 },
  )}`;
}

function rootVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

const GENERATED = '# Generated by scripts/build-chart.ts from dist/<profile>/ (make chart). Do not edit.\n';

/** The whole chart, in memory: Chart.yaml, values files, helpers, one template per synthesized file name. */
export function generateChart(dist: string, root: string = defaultRoot): GeneratedChart {
  const profiles = profilesIn(dist);
  if (profiles.length === 0)
    throw new Error(`build-chart: no profile with YAML files under ${dist}: run \`make synth\` first`);
  const values: Record<string, ProfileValues> = {};
  // file name -> template text of each object -> the profiles that have it (first appearance order kept)
  const templates = new Map<string, Map<string, { kind: string; profiles: string[] }>>();
  for (const profile of profiles) {
    const files = readProfile(join(dist, profile));
    const v = profileValues(profile, [...files.values()].flat());
    values[profile] = v;
    for (const [file, objects] of files) {
      const entries = templates.get(file) ?? new Map<string, { kind: string; profiles: string[] }>();
      templates.set(file, entries);
      for (const o of objects) {
        const text = templateText(parameterize(o, v));
        const entry = entries.get(text) ?? { kind: o.kind, profiles: [] };
        if (!entry.profiles.includes(profile)) entry.profiles.push(profile);
        entries.set(text, entry);
      }
    }
  }

  const version = rootVersion(root);
  const first = values[profiles[0]];
  const files: ChartFile[] = [];
  files.push({
    path: 'Chart.yaml',
    content:
      GENERATED +
      stringify({
        apiVersion: 'v2',
        name: 'meshmart',
        description:
          'MeshMart: every service, its configuration, policies and mesh objects, as synthesized by cdk8s (one profile at a time)',
        type: 'application',
        version,
        appVersion: version,
        keywords: ['microservices', 'eks', 'app-mesh', 'gateway-api', 'vpc-lattice'],
      }),
  });
  const doc = [
    GENERATED,
    `# Profiles: ${profiles.join(', ')}; each has its values-<profile>.yaml. These defaults are the ${first.profile} profile's.\n`,
    '# profile: objects of which profile to render; namespace / dataNamespace: where the app and the in-cluster\n',
    '# datastores live; image: the one image of every service (registry empty = a local image, e.g. loaded into kind);\n',
    '# replicas: of each stable service Deployment (and its HPA minimum); createNamespaces: false when the namespaces\n',
    '# are made outside this chart.\n',
  ].join('');
  files.push({ path: 'values.yaml', content: valuesYaml(first, doc) });
  for (const p of profiles)
    files.push({
      path: `values-${p}.yaml`,
      content: valuesYaml(values[p], `${GENERATED}# The ${p} profile.\n`),
    });
  files.push({
    path: 'templates/_helpers.tpl',
    content: `${GENERATED.replace('# ', '{{/* ').replace('\n', ' */}}\n')}{{- define "meshmart.registryPrefix" -}}
{{- with .Values.image.registry }}{{ . }}/{{ end -}}
{{- end -}}

{{- define "meshmart.image" -}}
{{ include "meshmart.registryPrefix" . }}{{ required "image.repository is required" .Values.image.repository }}:{{ required "image.tag is required" .Values.image.tag }}
{{- end -}}
`,
  });
  files.push({
    path: 'templates/profile-check.yaml',
    content: `{{- if not (has .Values.profile ${list(profiles)}) }}
{{- fail (printf "profile must be one of ${profiles.join(', ')}; got %q (use -f values-<profile>.yaml)" (toString .Values.profile)) }}
{{- end }}
`,
  });
  files.push({
    path: 'templates/NOTES.txt',
    content: `MeshMart {{ .Chart.AppVersion }}, profile {{ .Values.profile }}, in namespace {{ .Values.namespace }}.
The platform add-ons this profile expects are listed in docs/deploy.md (values in charts/addons/).
Watch the rollout:  kubectl --namespace {{ .Values.namespace }} get deployments,statefulsets
`,
  });
  for (const [file, entries] of templates) {
    const parts: string[] = [];
    for (const [text, { kind, profiles: has }] of entries) {
      const conditions: string[] = [];
      if (has.length < profiles.length) conditions.push(`(has .Values.profile ${list(has)})`);
      if (kind === 'Namespace') conditions.push('.Values.createNamespaces');
      const body = `---\n${text.trimEnd()}`;
      parts.push(
        conditions.length === 0
          ? body
          : `{{- if ${conditions.length === 1 ? conditions[0].replace(/^\((.*)\)$/, '$1') : `and ${conditions.join(' ')}`} }}\n${body}\n{{- end }}`,
      );
    }
    files.push({ path: `templates/${file}`, content: `${parts.join('\n')}\n` });
  }
  return { profiles, values, files };
}

/** Writes the chart to outDir (removing templates of files that no longer exist); returns the paths written. */
export function writeChart(chart: GeneratedChart, outDir: string): string[] {
  rmSync(join(outDir, 'templates'), { recursive: true, force: true });
  for (const f of readdirSync(outDir, { withFileTypes: true }).filter((e) => e.isFile()))
    if (/^values(-.+)?\.yaml$/.test(f.name)) rmSync(join(outDir, f.name));
  const written: string[] = [];
  for (const f of chart.files) {
    const path = join(outDir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    written.push(path);
  }
  return written;
}

/** Files that differ between the chart in memory and outDir (missing, changed or extra templates/values). */
export function chartDiff(chart: GeneratedChart, outDir: string): string[] {
  const diff: string[] = [];
  const expected = new Set(chart.files.map((f) => f.path));
  for (const f of chart.files) {
    const path = join(outDir, f.path);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== f.content) diff.push(f.path);
  }
  const templatesDir = join(outDir, 'templates');
  if (existsSync(templatesDir))
    for (const name of readdirSync(templatesDir))
      if (!expected.has(`templates/${name}`)) diff.push(`templates/${name}`);
  return diff;
}

const defaultRoot = fileURLToPath(new URL('..', import.meta.url));

function main(argv: readonly string[]): void {
  let dist = join(defaultRoot, 'dist');
  let out = join(defaultRoot, 'charts', 'meshmart');
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dist') dist = resolve(argv[++i] ?? '');
    else if (arg === '--out') out = resolve(argv[++i] ?? '');
    else if (arg === '--check') check = true;
    else throw new Error(`build-chart: unknown argument ${arg} (--dist dir, --out dir, --check)`);
  }
  const chart = generateChart(dist);
  if (check) {
    const diff = chartDiff(chart, out);
    if (diff.length > 0) {
      console.error(
        `build-chart: ${relative(defaultRoot, out)} is out of date (${diff.join(', ')}): run make chart`,
      );
      process.exit(1);
    }
    console.log(`build-chart: ${relative(defaultRoot, out)} is up to date`);
    return;
  }
  mkdirSync(out, { recursive: true });
  const written = writeChart(chart, out);
  console.log(
    `build-chart: ${relative(defaultRoot, out) || out}: ${written.length} files for profiles ${chart.profiles.join(', ')}`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
