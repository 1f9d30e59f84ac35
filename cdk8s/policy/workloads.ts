import type { Manifest } from './types.ts';

/** The pod-related parts of a container the rules read (a loose view of k8s Container). */
export interface ContainerView {
  readonly name?: string;
  readonly image?: string;
  readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
  readonly resources?: {
    readonly requests?: Readonly<Record<string, unknown>>;
    readonly limits?: Readonly<Record<string, unknown>>;
  };
  readonly readinessProbe?: unknown;
  readonly livenessProbe?: unknown;
  readonly startupProbe?: unknown;
  readonly securityContext?: SecurityContextView;
}

export interface SecurityContextView {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
  readonly seccompProfile?: { readonly type?: string };
}

export interface PodSpecView {
  readonly containers?: readonly ContainerView[];
  readonly initContainers?: readonly ContainerView[];
  readonly securityContext?: SecurityContextView;
}

/** A workload and its pod template, whatever its kind. */
export interface Workload {
  readonly object: Manifest;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly pod: PodSpecView;
}

interface TemplateView {
  readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: PodSpecView;
}

/** Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and bare Pods. */
export function workloads(objects: readonly Manifest[]): Workload[] {
  const out: Workload[] = [];
  for (const object of objects) {
    const spec = (object.spec ?? {}) as {
      replicas?: number;
      template?: TemplateView;
      jobTemplate?: { spec?: { template?: TemplateView } };
    };
    let template: TemplateView | undefined;
    switch (object.kind) {
      case 'Deployment':
      case 'StatefulSet':
      case 'DaemonSet':
      case 'ReplicaSet':
      case 'Job':
        template = spec.template;
        break;
      case 'CronJob':
        template = spec.jobTemplate?.spec?.template;
        break;
      case 'Pod':
        template = { metadata: object.metadata ?? {}, spec: object.spec as PodSpecView };
        break;
      default:
        continue;
    }
    out.push({
      object,
      kind: String(object.kind),
      name: object.metadata?.name ?? '',
      namespace: object.metadata?.namespace ?? 'default',
      replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
      podLabels: template?.metadata?.labels ?? {},
      pod: template?.spec ?? {},
    });
  }
  return out;
}

export function allContainers(pod: PodSpecView): ContainerView[] {
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

/** Kubernetes label-selector semantics; an empty selector matches everything. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  );
}
