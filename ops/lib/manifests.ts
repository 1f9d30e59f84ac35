import { existsSync } from 'node:fs';
import { PROFILE_NAMES, type ProfileName } from '@meshmart/cdk8s/profiles/names.ts';
import { phases, readManifests, vendoredCrds } from '../../scripts/kind-manifests.ts';
import type { KubeObject } from './kube.ts';

export { PROFILE_NAMES, type ProfileName };

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/** Every object of the `*.yaml` files of dir (what `make synth` wrote), in file then document order. */
export function objectsFromDir(dir: string): KubeObject[] {
  if (!existsSync(dir))
    throw new Error(`${dir} does not exist: synthesize first (make synth), or pass --synth`);
  const objects = readManifests(dir) as unknown as KubeObject[];
  if (objects.length === 0) throw new Error(`no objects in ${dir}/*.yaml`);
  return objects;
}

/** A profile's objects as `make synth` wrote them to `dir` (dist/<profile>/), or what to run when it did not. */
export function objectsFromDist(dir: string, profile: string): KubeObject[] {
  if (!existsSync(dir))
    throw new Error(
      `${dir} does not exist: synthesize it first with make synth PROFILE=${profile} (npx tsx cdk8s/main.ts --profile ${profile}) and review it, or pass --synth`,
    );
  return objectsFromDir(dir);
}

export interface ApplyPlan {
  /** CustomResourceDefinitions: the objects' own plus the vendored ones (cdk8s/crds/) of the kinds they use. */
  readonly crds: KubeObject[];
  readonly namespaces: KubeObject[];
  /** Everything else, in the given order. */
  readonly objects: KubeObject[];
}

/** Splits objects into apply phases; `crdsDir` undefined means the vendored CRDs of cdk8s/crds/. */
export function plan(objects: readonly KubeObject[], crdsDir?: string): ApplyPlan {
  return phases(objects, vendoredCrds(crdsDir));
}
