import { validateCustomResource } from './crd-validator.ts';
import { isBuiltIn, validateBuiltIn } from './kube-validator.ts';

export { isBuiltIn, validateBuiltIn } from './kube-validator.ts';

/**
 * Every problem of every object: built-in kinds against the Kubernetes schemas (kubernetes-models), custom
 * resources against the vendored CRDs in strict mode (unknown fields rejected). Empty means valid.
 */
export function validateManifests(objects: readonly Record<string, unknown>[]): string[] {
  return objects.flatMap((obj) => (isBuiltIn(obj) ? validateBuiltIn(obj) : validateCustomResource(obj)));
}
