import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import { Deployment, StatefulSet, DaemonSet } from 'kubernetes-models/apps/v1';
import { Job, CronJob } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/** Built-in kinds MeshMart emits (and a few neighbours), keyed `<apiVersion>/<kind>`. */
const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

/** API groups served by Kubernetes itself; anything else is a custom resource. */
const BUILT_IN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'autoscaling',
  'policy',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'certificates.k8s.io',
  'node.k8s.io',
]);

export function isBuiltIn(obj: { readonly apiVersion?: unknown }): boolean {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  return BUILT_IN_GROUPS.has(group);
}

function describe(obj: Record<string, unknown>): string {
  const meta = (obj.metadata ?? {}) as { name?: string; namespace?: string };
  return `${String(obj.kind)} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name ?? '(unnamed)'}`;
}

/**
 * Validates a built-in object against the Kubernetes OpenAPI schema of its apiVersion/kind (kubernetes-models).
 * Returns problems, empty when valid. A kind it has no model for is a problem, not a silent pass.
 */
export function validateBuiltIn(obj: Record<string, unknown>): string[] {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const Model = MODELS[key];
  if (!Model)
    return [
      `${describe(obj)}: no Kubernetes schema for ${key}; add it to cdk8s/validation/kube-validator.ts`,
    ];
  if (typeof (obj.metadata as { name?: unknown } | undefined)?.name !== 'string')
    return [`${describe(obj)}: metadata.name is required`];
  try {
    new Model(obj as never).validate();
    return [];
  } catch (error) {
    return (error as Error).message
      .split(/,\s*(?=data)/)
      .map((line) => `${describe(obj)}: ${line.replace(/^data\/?/, '/')}`);
  }
}

export function supportedKinds(): readonly string[] {
  return Object.keys(MODELS);
}
