import { type Kube, type KubeObject, ObjectError } from './kube.ts';
import type { CanaryState } from './canary-plan.ts';
import { routerName } from '@meshmart/mesh/names.ts';
import {
  BACKENDS,
  CANARY_ANNOTATION,
  CANARY_FIELD_MANAGER,
  readRoute,
  withCanaryWeight,
  type Backend,
} from './traffic.ts';

/** A route object the canary shifts; `object` is the last version read or written. */
export interface Route {
  readonly backend: Backend;
  object: KubeObject;
}

/** The service's route objects on the given backends; throws when the profile renders none of them. */
export async function readRoutes(
  kube: Kube,
  backends: readonly Backend[] | undefined,
  namespace: string,
  service: string,
): Promise<Route[]> {
  const routes: Route[] = [];
  for (const backend of backends ?? BACKENDS) {
    const object = await readRoute(kube, backend, namespace, service);
    if (object) routes.push({ backend, object });
  }
  if (routes.length === 0)
    throw new Error(
      `no route to shift for '${service}' in namespace ${namespace}: neither VirtualRouter ${routerName(service)} (App Mesh) nor HTTPRoute ${service} (Gateway API) exists`,
    );
  return routes;
}

/** Gives the canary `weight` and the rest to `stable` on every route object in turn, with `state` in its annotation. */
export async function shiftRoutes(
  kube: Kube,
  routes: readonly Route[],
  service: string,
  stable: string,
  canary: string,
  weight: number,
  state: CanaryState,
): Promise<void> {
  for (const route of routes)
    route.object = await patchRoute(kube, route, service, stable, canary, weight, state);
}

/** Writes weights and state with a merge patch conditioned on the resourceVersion read; one retry on a conflict. */
async function patchRoute(
  kube: Kube,
  route: Route,
  service: string,
  stable: string,
  canary: string,
  weight: number,
  state: CanaryState,
): Promise<KubeObject> {
  for (let attempt = 0; ; attempt++) {
    const o = route.object;
    try {
      return await kube.mergePatch(
        {
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: {
            name: o.metadata.name,
            namespace: o.metadata.namespace!,
            resourceVersion: o.metadata.resourceVersion!,
            annotations: { [CANARY_ANNOTATION]: JSON.stringify(state) },
          },
          spec: withCanaryWeight(route.backend, o, service, stable, canary, weight),
        },
        CANARY_FIELD_MANAGER,
      );
    } catch (e) {
      if (attempt === 0 && e instanceof ObjectError && e.status?.code === 409) {
        const fresh = await kube.read(o);
        if (fresh) {
          route.object = fresh;
          continue;
        }
      }
      throw e;
    }
  }
}
