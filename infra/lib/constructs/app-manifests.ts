import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Construct, type IDependable } from 'constructs';
import type { Chart } from 'cdk8s';
import type { Profile } from '@meshmart/cdk8s/profiles/index.ts';
import { chartObjects } from '@meshmart/cdk8s/synth.ts';

/**
 * Largest manifest per custom resource, measured as its JSON inside the request JSON. CloudFormation invokes the
 * kubectl provider asynchronously, and Lambda refuses event payloads over 256 KiB (aws-cdk#19165).
 */
export const MAX_MANIFEST_BYTES = 200_000;

export interface AppManifestsProps {
  readonly cluster: eks.Cluster;
  readonly profile: Profile;
  /** Applied before any chart but the namespaces (add-on releases: CRDs and webhooks). */
  readonly after: readonly IDependable[];
}

/** A slice of a cdk8s chart's objects; `addCdk8sChart` needs only `toJson()`. */
class ChartPart extends Construct {
  public constructor(
    scope: Construct,
    id: string,
    private readonly objects: readonly unknown[],
  ) {
    super(scope, id);
  }

  public toJson(): unknown[] {
    return [...this.objects];
  }
}

/**
 * A cdk8s profile on the cluster: each chart through `addCdk8sChart`, in the order `make synth` names them, the
 * namespaces first and everything else after them and after the add-ons. A chart over MAX_MANIFEST_BYTES goes in
 * parts (objects in their synthesized order). The manifests are what `make synth` writes for the same config.
 */
export class AppManifests extends Construct {
  /** Per chart id (e.g. `20-services`), the manifests applying it. */
  public readonly manifests = new Map<string, eks.KubernetesManifest[]>();
  /** The namespace manifests, for objects of our own that live in those namespaces. */
  public readonly namespaces: eks.KubernetesManifest[] = [];

  public constructor(scope: Construct, id: string, props: AppManifestsProps) {
    super(scope, id);
    const charts = [...props.profile.charts].sort((a, b) => (a.node.id < b.node.id ? -1 : 1));
    for (const chart of charts) {
      const objects = chartObjects(chart);
      if (objects.length === 0) continue;
      const parts = splitBySize(objects, MAX_MANIFEST_BYTES);
      const added = parts.map((part, i) => {
        const source: Chart | ChartPart =
          parts.length === 1 ? chart : new ChartPart(this, `${chart.node.id}-part${i + 1}`, part);
        const suffix = parts.length === 1 ? '' : `-part${i + 1}`;
        return props.cluster.addCdk8sChart(`${props.profile.name}-${chart.node.id}${suffix}`, source);
      });
      this.manifests.set(chart.node.id, added);
      if (isNamespaceChart(objects)) this.namespaces.push(...added);
    }
    for (const manifests of this.manifests.values()) {
      if (manifests.some((m) => this.namespaces.includes(m))) continue;
      for (const m of manifests) {
        for (const ns of this.namespaces) m.node.addDependency(ns);
        for (const dep of props.after) m.node.addDependency(dep);
      }
    }
  }
}

function isNamespaceChart(objects: readonly { kind: string }[]): boolean {
  return objects.every((o) => o.kind === 'Namespace');
}

/** Consecutive groups of objects, each under `limit` bytes once embedded in the request; one object never splits. */
export function splitBySize<T>(objects: readonly T[], limit: number): T[][] {
  const parts: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const o of objects) {
    const bytes = JSON.stringify(JSON.stringify(o)).length + 1;
    if (bytes > limit)
      throw new Error(
        `AppManifests: one object is ${bytes} bytes, over the ${limit}-byte limit of a manifest; split it (e.g. one ` +
          'dashboard per ConfigMap)',
      );
    if (current.length > 0 && size + bytes > limit) {
      parts.push(current);
      current = [];
      size = 0;
    }
    current.push(o);
    size += bytes;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}
