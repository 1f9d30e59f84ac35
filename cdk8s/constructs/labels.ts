/** The labels every MeshMart workload carries; the mesh renderers select pods by the same keys. */
export const NAME_LABEL = 'app.kubernetes.io/name';
export const VERSION_LABEL = 'app.kubernetes.io/version';
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const PART_OF = 'meshmart';

/** Labels selecting every version of a service (the stable Service's selector). */
export function serviceSelector(name: string): Record<string, string> {
  return { [NAME_LABEL]: name, [PART_OF_LABEL]: PART_OF };
}

/** Labels selecting one version of a service (a Deployment's and a per-version Service's selector). */
export function versionSelector(name: string, version: string): Record<string, string> {
  return { ...serviceSelector(name), [VERSION_LABEL]: version };
}
