import { describe, Kube, ObjectError, type KubeObject } from './kube.ts';

/** A Secret the objects need but do not contain: created by the operator, External Secrets or the AWS CDK app. */
export interface SecretReference {
  readonly namespace: string;
  readonly name: string;
  /** Keys read through `secretKeyRef`, sorted; empty when the whole Secret is used (envFrom, a volume). */
  readonly keys: readonly string[];
  /** The objects that read it, e.g. `Deployment meshmart/gateway`. */
  readonly by: readonly string[];
}

interface Ref {
  readonly name?: string;
  readonly key?: string;
  readonly optional?: boolean;
}

/**
 * Secrets referenced by a pod template (`env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`, `volumes[].secret`)
 * and not among `objects`; optional references are left out: a pod starts without them.
 */
export function secretReferences(objects: readonly KubeObject[]): SecretReference[] {
  const contained = new Set(
    objects
      .filter((o) => o.kind === 'Secret')
      .map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`),
  );
  const found = new Map<string, { keys: Set<string>; by: Set<string> }>();
  const note = (namespace: string, ref: Ref | undefined, owner: KubeObject, key?: string): void => {
    if (!ref?.name || ref.optional === true) return;
    const id = `${namespace}/${ref.name}`;
    if (contained.has(id)) return;
    const entry = found.get(id) ?? { keys: new Set<string>(), by: new Set<string>() };
    if (key) entry.keys.add(key);
    entry.by.add(describe(owner));
    found.set(id, entry);
  };
  const visit = (value: unknown, namespace: string, owner: KubeObject): void => {
    if (Array.isArray(value)) for (const v of value) visit(v, namespace, owner);
    else if (value !== null && typeof value === 'object') {
      const v = value as {
        secretKeyRef?: Ref;
        secretRef?: Ref;
        secret?: { secretName?: string; optional?: boolean };
      };
      if (v.secretKeyRef) note(namespace, v.secretKeyRef, owner, v.secretKeyRef.key);
      if (v.secretRef) note(namespace, v.secretRef, owner);
      if (v.secret?.secretName)
        note(namespace, { name: v.secret.secretName, optional: v.secret.optional ?? false }, owner);
      for (const child of Object.values(value)) visit(child, namespace, owner);
    }
  };
  for (const o of objects) if (o.kind !== 'Secret') visit(o, o.metadata.namespace ?? 'default', o);
  return [...found.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, { keys, by }]) => {
      const [namespace, name] = id.split('/') as [string, string];
      return { namespace, name, keys: [...keys].sort(), by: [...by].sort() };
    });
}

export interface SecretProblem {
  readonly secret: SecretReference;
  /** `missing`: no such Secret; `keys`: it lacks `missingKeys`; `unknown`: it could not be read (`reason`). */
  readonly problem: 'missing' | 'keys' | 'unknown';
  readonly missingKeys?: readonly string[];
  readonly reason?: string;
}

/** The referenced Secrets that do not exist on the cluster, lack a key, or cannot be read. */
export async function secretProblems(kube: Kube, objects: readonly KubeObject[]): Promise<SecretProblem[]> {
  const problems: SecretProblem[] = [];
  for (const secret of secretReferences(objects)) {
    let live: KubeObject | undefined;
    try {
      live = await kube.read({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secret.name, namespace: secret.namespace },
      });
    } catch (err) {
      problems.push({
        secret,
        problem: 'unknown',
        reason: err instanceof ObjectError ? err.message : String(err),
      });
      continue;
    }
    if (!live) {
      problems.push({ secret, problem: 'missing' });
      continue;
    }
    const data = { ...(live.data as object | undefined), ...(live.stringData as object | undefined) };
    const missingKeys = secret.keys.filter((k) => !(k in data));
    if (missingKeys.length > 0) problems.push({ secret, problem: 'keys', missingKeys });
  }
  return problems;
}

/** One line about a problem, with the command that fixes it. */
export function describeSecretProblem(p: SecretProblem): string {
  const { namespace, name, keys, by } = p.secret;
  const readers = `${by.join(', ')} ${by.length === 1 ? 'reads' : 'read'} it`;
  if (p.problem === 'unknown')
    return `Secret ${namespace}/${name} could not be checked (${p.reason}); ${readers}`;
  const literals = (p.missingKeys ?? keys).map((k) => `--from-literal=${k}=<value>`).join(' ');
  if (p.problem === 'keys')
    return (
      `Secret ${namespace}/${name} has no key ${(p.missingKeys ?? []).join(', ')}; ${readers}, and its pods will not start ` +
      `until it has (add it: kubectl -n ${namespace} edit secret ${name})`
    );
  return (
    `Secret ${namespace}/${name} does not exist; ${readers}, and its pods will not start (CreateContainerConfigError) ` +
    `until it does: kubectl -n ${namespace} create secret generic ${name}${literals ? ` ${literals}` : ' ...'} ` +
    `(docs/deploy.md: the Secrets each profile needs)`
  );
}
