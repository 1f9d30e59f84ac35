import { CANARY_ANNOTATION, routerName, versionedName } from '@meshmart/mesh/names.ts';
import type { Kube, KubeObject } from './kube.ts';

export const BACKENDS = ['app-mesh', 'gateway-api'] as const;
export type Backend = (typeof BACKENDS)[number];

/** What the profiles render per service (mesh/render/app-mesh.ts and gateway-api.ts). */
const ROUTE_OBJECT: Readonly<
  Record<Backend, { apiVersion: string; kind: string; name: (service: string) => string }>
> = {
  'app-mesh': { apiVersion: 'appmesh.k8s.aws/v1beta2', kind: 'VirtualRouter', name: routerName },
  'gateway-api': { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: (s) => s },
};

export { CANARY_ANNOTATION };
export const CANARY_FIELD_MANAGER = 'meshmart-canary';

export function routeRef(backend: Backend, namespace: string, service: string): KubeObject {
  const r = ROUTE_OBJECT[backend];
  return { apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name(service), namespace } };
}

interface Target {
  name: string;
  weight: number;
  [key: string]: unknown;
}

/** Every weighted list of the object: App Mesh routes' weightedTargets, HTTPRoute rules' backendRefs. */
function weightedLists(
  backend: Backend,
  spec: Record<string, unknown>,
): { get: () => Target[]; set: (t: Target[]) => void }[] {
  const lists: { get: () => Target[]; set: (t: Target[]) => void }[] = [];
  if (backend === 'app-mesh') {
    for (const route of (spec.routes as
      Record<string, { action?: { weightedTargets?: unknown[] } }>[] | undefined) ?? []) {
      for (const kindKey of ['httpRoute', 'http2Route', 'grpcRoute', 'tcpRoute']) {
        const action = route[kindKey]?.action;
        if (!action?.weightedTargets) continue;
        lists.push({
          get: () =>
            (action.weightedTargets as { virtualNodeRef?: { name?: string }; weight?: number }[]).map(
              (t) => ({
                ...t,
                name: t.virtualNodeRef?.name ?? '',
                weight: t.weight ?? 0,
              }),
            ),
          set: (targets) => {
            action.weightedTargets = targets.map(({ name, weight, ...rest }) => ({
              ...rest,
              virtualNodeRef: { ...(rest.virtualNodeRef as object), name },
              weight,
            }));
          },
        });
      }
    }
  } else {
    for (const rule of (spec.rules as { backendRefs?: { name: string; weight?: number }[] }[] | undefined) ??
      []) {
      if (!rule.backendRefs) continue;
      lists.push({
        get: () => rule.backendRefs!.map((b) => ({ ...b, weight: b.weight ?? 1 })),
        set: (targets) => {
          rule.backendRefs = targets;
        },
      });
    }
  }
  return lists;
}

function versionOf(service: string, targetName: string): string | undefined {
  return targetName.startsWith(`${service}-`) ? targetName.slice(service.length + 1) : undefined;
}

/**
 * The version → weight split of a route object. Every route (rule) must split the same way: the canary tool writes
 * them together, so a difference means someone else changed one.
 */
export function readWeights(backend: Backend, object: KubeObject, service: string): Map<string, number> {
  const lists = weightedLists(backend, (object.spec ?? {}) as Record<string, unknown>);
  if (lists.length === 0)
    throw new Error(
      `${object.kind} ${object.metadata.namespace}/${object.metadata.name} has no weighted targets`,
    );
  let first: Map<string, number> | undefined;
  for (const list of lists) {
    const split = new Map<string, number>();
    for (const t of list.get()) {
      const version = versionOf(service, t.name);
      if (version === undefined)
        throw new Error(
          `${object.kind} ${object.metadata.name}: target '${t.name}' is not a version of '${service}' (<service>-<version>)`,
        );
      split.set(version, (split.get(version) ?? 0) + t.weight);
    }
    if (!first) first = split;
    else if (!sameSplit(first, split))
      throw new Error(
        `${object.kind} ${object.metadata.namespace}/${object.metadata.name}: its routes split traffic differently (${format(first)} vs ${format(split)}); make them equal first`,
      );
  }
  return first!;
}

function sameSplit(a: Map<string, number>, b: Map<string, number>): boolean {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].every((k) => (a.get(k) ?? 0) === (b.get(k) ?? 0));
}

export function format(split: Map<string, number>): string {
  return [...split.entries()].map(([v, w]) => `${v} ${w}%`).join(', ');
}

/**
 * The object's spec with `canaryWeight` to the canary and the rest to the stable version, in every route (rule). A
 * missing canary target is added as a copy of the stable one pointing at `<service>-<canary>`; other versions must
 * carry no traffic (checked by the caller).
 */
export function withCanaryWeight(
  backend: Backend,
  object: KubeObject,
  service: string,
  stable: string,
  canary: string,
  canaryWeight: number,
): Record<string, unknown> {
  const spec = structuredClone(object.spec ?? {}) as Record<string, unknown>;
  const stableName = versionedName(service, stable);
  const canaryName = versionedName(service, canary);
  for (const list of weightedLists(backend, spec)) {
    const targets = list.get();
    const stableTarget = targets.find((t) => t.name === stableName);
    if (!stableTarget)
      throw new Error(
        `${object.kind} ${object.metadata.name}: a route has no target '${stableName}' (the stable version)`,
      );
    if (!targets.some((t) => t.name === canaryName))
      targets.push({ ...structuredClone(stableTarget), name: canaryName });
    for (const t of targets) {
      if (t.name === canaryName) t.weight = canaryWeight;
      else if (t.name === stableName) t.weight = 100 - canaryWeight;
    }
    list.set(targets);
  }
  return spec;
}

/** Reads the route object of a backend; undefined when the profile does not render it. */
export async function readRoute(
  kube: Kube,
  backend: Backend,
  namespace: string,
  service: string,
): Promise<KubeObject | undefined> {
  return kube.read(routeRef(backend, namespace, service));
}
