import { setTimeout as sleep } from 'node:timers/promises';
import { DEPLOY_LABEL, DESCRIPTION_ANNOTATION, MANAGED_BY_LABEL } from '@meshmart/mesh/names.ts';
import { describe, groupOf, Kube, ObjectError, type KubeObject } from './kube.ts';
import { plan } from './manifests.ts';

export const FIELD_MANAGER = 'meshmart-deploy';
// The owner's labels, from mesh/names.ts; prune only touches objects whose DEPLOY_LABEL names its own deploy.
export { DEPLOY_LABEL, MANAGED_BY_LABEL };
const INVENTORY_KEY = 'objects';

export interface DeployOptions {
  readonly kube: Kube;
  /** What the deploy is called: its objects' label value and its inventory's name (the profile name for `make deploy`). */
  readonly name: string;
  readonly objects: readonly KubeObject[];
  /** Server-side dry run: every request is validated and admitted, nothing is stored. */
  readonly dryRun?: boolean;
  /**
   * With `dryRun`: apply the CRDs and Namespaces for real first (empty, and listed in the inventory), so the server can
   * judge every other object; a dry run alone cannot check objects of a namespace or CRD the cluster does not have.
   */
  readonly prerequisites?: boolean;
  /** Take over fields another manager owns instead of stopping on the conflict. */
  readonly forceConflicts?: boolean;
  /** Delete objects of the previous deploy that are not among `objects`. @default true */
  readonly prune?: boolean;
  /** Where the inventory ConfigMap lives. @default 'default' */
  readonly inventoryNamespace?: string;
  /** Vendored CRDs directory. @default cdk8s/crds */
  readonly crdsDir?: string;
  /** @default 60 s */
  readonly crdTimeoutMs?: number;
  readonly onEvent?: (event: DeployEvent) => void;
  readonly signal?: AbortSignal;
}

export type DeployEvent =
  | {
      readonly type: 'applied';
      readonly object: string;
      readonly phase: 'crd' | 'namespace' | 'object';
      /** Applied for real during a dry run (`prerequisites`). */
      readonly real?: boolean;
    }
  | { readonly type: 'skipped'; readonly object: string; readonly reason: string }
  | { readonly type: 'established'; readonly object: string }
  | { readonly type: 'pruned'; readonly object: string }
  | { readonly type: 'kept'; readonly object: string; readonly reason: string };

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface DeployResult {
  /** Objects applied (CRDs included), as returned by the server. */
  readonly applied: KubeObject[];
  readonly skipped: { readonly object: string; readonly reason: string }[];
  readonly pruned: string[];
  /** Deployments and StatefulSets to wait for. */
  readonly workloads: ObjectRef[];
}

export function inventoryName(name: string): string {
  return `meshmart-deploy-${name}`;
}

function refOf(o: KubeObject): ObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata.name,
  };
}

/** Identity across API versions: group, kind, namespace, name. */
function keyOf(r: ObjectRef): string {
  return `${groupOf(r.apiVersion)}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

function asObject(r: ObjectRef): KubeObject {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
  };
}

function owned(o: KubeObject, name: string): KubeObject {
  return {
    ...o,
    metadata: {
      ...o.metadata,
      labels: { ...o.metadata.labels, [MANAGED_BY_LABEL]: FIELD_MANAGER, [DEPLOY_LABEL]: name },
    },
  };
}

/** A deploy name must fit a label value and a ConfigMap name. */
export function checkDeployName(name: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,45}[a-z0-9])?$/.test(name))
    throw new Error(`deploy name '${name}' must be a DNS label of at most 47 characters (a-z, 0-9, '-')`);
}

/**
 * Server-side apply of a set of objects as one owner: CRDs first (waiting until established), then Namespaces, then
 * the rest; every object but the CRDs is labelled with the owner and listed in an inventory ConfigMap, and objects of
 * the previous inventory that are no longer in the set (and still carry the owner's label) are deleted. CRDs are never
 * pruned: deleting one deletes every object of its kind. Stops at the first rejected object with an ObjectError.
 */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const { kube, name } = options;
  checkDeployName(name);
  const emit = options.onEvent ?? (() => undefined);
  const dryRun = options.dryRun ?? false;
  const apply = { fieldManager: FIELD_MANAGER, force: options.forceConflicts ?? false, dryRun };
  const prerequisites = dryRun && (options.prerequisites ?? false);
  const applyReal = { ...apply, dryRun: false };
  const phases = plan(options.objects, options.crdsDir);
  const objects = [...phases.namespaces, ...phases.objects].map((o) => owned(o, name));
  const result: DeployResult = { applied: [], skipped: [], pruned: [], workloads: [] };

  const missingCrds = new Set<string>();
  for (const crd of phases.crds) {
    options.signal?.throwIfAborted();
    result.applied.push(await kube.apply(crd, prerequisites ? applyReal : apply));
    emit({ type: 'applied', object: describe(crd), phase: 'crd', ...(prerequisites ? { real: true } : {}) });
    if (dryRun && !prerequisites) {
      // A dry run creates nothing, so objects of a CRD the server does not have yet cannot be checked.
      if (!(await kube.read(crd))) missingCrds.add(crdKey(crd));
    } else {
      await waitEstablished(kube, crd, options.crdTimeoutMs ?? 60_000, options.signal);
      emit({ type: 'established', object: describe(crd) });
    }
  }

  const inventory = await readInventory(kube, name, options.inventoryNamespace);
  const current = new Map(objects.map((o) => [keyOf(refOf(o)), refOf(o)]));
  // Written before applying, as the union with the previous set, so an interrupted deploy still owns what it created.
  if (!dryRun) await writeInventory(kube, name, [...new Map([...inventory, ...current]).values()], options);
  else if (prerequisites) {
    const namespaces = phases.namespaces.map((o) => refOf(owned(o, name)));
    await writeInventory(
      kube,
      name,
      [...new Map([...inventory, ...namespaces.map((r) => [keyOf(r), r] as const)]).values()],
      options,
    );
  }

  const missingNamespaces = new Set<string>();
  for (const object of objects) {
    options.signal?.throwIfAborted();
    const crd = crdKeyOfObject(object);
    if (missingCrds.has(crd)) {
      skip(result, emit, object, `its CRD is not installed yet (a dry run does not create it)`);
      continue;
    }
    const ns = object.metadata.namespace;
    if (dryRun && ns && missingNamespaces.has(ns)) {
      skip(result, emit, object, `namespace ${ns} does not exist yet (a dry run does not create it)`);
      continue;
    }
    const real = prerequisites && object.kind === 'Namespace';
    let applied: KubeObject;
    try {
      applied = await kube.apply(object, real ? applyReal : apply);
    } catch (err) {
      if (
        dryRun &&
        ns &&
        err instanceof ObjectError &&
        err.status?.code === 404 &&
        /namespaces? /.test(err.message)
      ) {
        missingNamespaces.add(ns);
        skip(result, emit, object, `namespace ${ns} does not exist yet (a dry run does not create it)`);
        continue;
      }
      throw err;
    }
    result.applied.push(applied);
    emit({
      type: 'applied',
      object: describe(object),
      phase: object.kind === 'Namespace' ? 'namespace' : 'object',
      ...(real ? { real: true } : {}),
    });
    if (object.kind === 'Deployment' || object.kind === 'StatefulSet') result.workloads.push(refOf(object));
  }

  if (options.prune ?? true) {
    const stale = [...inventory.entries()].filter(([key]) => !current.has(key)).map(([, ref]) => ref);
    // Namespaces last: deleting one deletes everything in it, including objects reported individually above.
    stale.sort((a, b) => Number(a.kind === 'Namespace') - Number(b.kind === 'Namespace'));
    for (const ref of stale) {
      options.signal?.throwIfAborted();
      const live = await kube.read(asObject(ref));
      const label = live?.metadata.labels?.[DEPLOY_LABEL];
      if (!live) continue;
      if (live.metadata.labels?.[MANAGED_BY_LABEL] !== FIELD_MANAGER || label !== name) {
        emit({
          type: 'kept',
          object: describe(live),
          reason: `no longer labelled ${DEPLOY_LABEL}=${name} (now ${label ?? 'unlabelled'}): someone else owns it`,
        });
        continue;
      }
      if (await kube.delete(asObject(ref), dryRun)) {
        result.pruned.push(describe(live));
        emit({ type: 'pruned', object: describe(live) });
      }
    }
  }
  if (!dryRun) await writeInventory(kube, name, [...current.values()], options);
  return result;
}

function skip(
  result: DeployResult,
  emit: (e: DeployEvent) => void,
  object: KubeObject,
  reason: string,
): void {
  result.skipped.push({ object: describe(object), reason });
  emit({ type: 'skipped', object: describe(object), reason });
}

function crdKey(crd: KubeObject): string {
  const spec = crd.spec as { group: string; names: { kind: string } };
  return `${spec.group}/${spec.names.kind}`;
}

function crdKeyOfObject(o: KubeObject): string {
  return `${groupOf(o.apiVersion)}/${o.kind}`;
}

async function waitEstablished(
  kube: Kube,
  crd: KubeObject,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = await kube.read(crd);
    const conditions = (live?.status as { conditions?: { type: string; status: string }[] } | undefined)
      ?.conditions;
    if (conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline)
      throw new Error(
        `${describe(crd)} is not Established after ${timeoutMs / 1000} s: ${JSON.stringify(conditions ?? [])}`,
      );
    await sleep(200, undefined, signal ? { signal } : undefined);
  }
}

function inventoryRef(name: string, namespace = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: inventoryName(name), namespace } };
}

/** The objects the previous deploy of this name applied, by identity. */
export async function readInventory(
  kube: Kube,
  name: string,
  namespace?: string,
): Promise<Map<string, ObjectRef>> {
  const live = await kube.read(inventoryRef(name, namespace));
  const text = (live?.data as Record<string, string> | undefined)?.[INVENTORY_KEY];
  const refs = text ? (JSON.parse(text) as ObjectRef[]) : [];
  return new Map(refs.map((r) => [keyOf(r), r]));
}

async function writeInventory(
  kube: Kube,
  name: string,
  refs: readonly ObjectRef[],
  options: Pick<DeployOptions, 'inventoryNamespace' | 'forceConflicts'>,
): Promise<void> {
  const sorted = [...refs].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const ref = inventoryRef(name, options.inventoryNamespace);
  await kube.apply(
    {
      ...ref,
      metadata: {
        ...ref.metadata,
        labels: { [MANAGED_BY_LABEL]: FIELD_MANAGER, [DEPLOY_LABEL]: name },
        annotations: {
          [DESCRIPTION_ANNOTATION]: `objects applied by 'ops/deploy.ts' as '${name}'; prune reads it`,
        },
      },
      data: { [INVENTORY_KEY]: `${JSON.stringify(sorted, null, 1)}\n` },
    },
    { fieldManager: FIELD_MANAGER, force: options.forceConflicts ?? false },
  );
}
