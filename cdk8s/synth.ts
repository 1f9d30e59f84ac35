import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Chart } from 'cdk8s';
import { stringify } from 'yaml';
import type { MeshmartConfig } from './config.ts';
import type { Profile } from './profiles/compose.ts';
import { buildProfile, type ProfileName } from './profiles/index.ts';

/** A Kubernetes object as synthesized (plain JSON). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [key: string]: unknown;
}

/** Apply order inside a chart: what others refer to first; kinds not listed come after, alphabetically. */
const KIND_ORDER = [
  'Namespace',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Service',
  'StatefulSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'Mesh',
  'VirtualNode',
  'VirtualRouter',
  'VirtualService',
  'VirtualGateway',
  'GatewayRoute',
  'GatewayClass',
  'Gateway',
  'HTTPRoute',
  'GRPCRoute',
  'TargetGroupPolicy',
  'IAMAuthPolicy',
  'AccessLogPolicy',
  'ServiceMonitor',
  'PodMonitor',
  'PrometheusRule',
];

function rank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
}

function compare(a: KubeObject, b: KubeObject): number {
  const keys = (o: KubeObject): [number, string, string, string] => [
    rank(o.kind),
    o.kind,
    o.metadata.namespace ?? '',
    o.metadata.name ?? '',
  ];
  const ka = keys(a);
  const kb = keys(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] < kb[i]) return -1;
    if (ka[i] > kb[i]) return 1;
  }
  return 0;
}

/** A chart's objects in the stable order. */
export function chartObjects(chart: Chart): KubeObject[] {
  return (chart.toJson() as KubeObject[]).slice().sort(compare);
}

/** Every object of a profile, charts in name order, objects in the stable order. */
export function profileObjects(profile: Profile): KubeObject[] {
  return sortedCharts(profile).flatMap(chartObjects);
}

function sortedCharts(profile: Profile): Chart[] {
  return [...profile.charts].sort((a, b) => (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0));
}

export function toYaml(objects: readonly KubeObject[]): string {
  return objects
    .map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' }))
    .join('---\n');
}

export interface SynthResult {
  readonly profile: ProfileName;
  readonly dir: string;
  readonly files: readonly string[];
  readonly objects: number;
}

/**
 * Writes each profile to `<outdir>/<profile>/`: one `<chart>.yaml` per chart plus the profile's Markdown reports.
 * Previous YAML and Markdown files there are removed first so a renamed chart leaves nothing stale.
 */
export function synthProfiles(
  profiles: readonly ProfileName[],
  outdir: string,
  config?: MeshmartConfig,
): SynthResult[] {
  return profiles.map((name) => writeProfile(name, buildProfile(name, config), outdir));
}

/** Writes one built profile to `<outdir>/<name>/`, as synthProfiles does. */
export function writeProfile(name: ProfileName, profile: Profile, outdir: string): SynthResult {
  const dir = join(outdir, name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.yaml') || f.endsWith('.md')) rmSync(join(dir, f));
  const files: string[] = [];
  let count = 0;
  for (const chart of sortedCharts(profile)) {
    const objects = chartObjects(chart);
    if (objects.length === 0) continue;
    count += objects.length;
    const file = `${chart.node.id}.yaml`;
    writeFileSync(join(dir, file), toYaml(objects));
    files.push(file);
  }
  for (const [file, text] of Object.entries(profile.reports).sort(([a], [b]) => (a < b ? -1 : 1))) {
    writeFileSync(join(dir, file), text.endsWith('\n') ? text : `${text}\n`);
    files.push(file);
  }
  return { profile: name, dir, files, objects: count };
}
