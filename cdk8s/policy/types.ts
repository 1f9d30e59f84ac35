import type { TrafficModel } from '@meshmart/mesh/model.ts';

/** A synthesized Kubernetes object, as plain JSON. */
export type Manifest = Readonly<Record<string, unknown>> & {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
};

export interface Violation {
  readonly rule: string;
  /** `Kind namespace/name`. */
  readonly object: string;
  readonly message: string;
}

/** What the rules know besides the objects: the traffic model and what may enter from outside it. */
export interface PolicyContext {
  readonly model: TrafficModel;
  /** Namespace of the Prometheus allowed to scrape every workload. */
  readonly metricsNamespace: string;
  /**
   * Set when callers go through VPC Lattice: they then arrive from its data-plane CIDR, not from their pods, and the
   * IAMAuthPolicy of each HTTPRoute must admit exactly the callers' IAM principals. @default pod-to-pod calls
   */
  readonly lattice?: {
    readonly cidr: string;
    readonly principal: (service: string) => string;
    /** Callers also reach services pod to pod (the migration: App Mesh and Lattice at once). */
    readonly alongsidePods?: boolean;
  };
}

export interface PolicyRule {
  readonly id: string;
  readonly description: string;
  check(objects: readonly Manifest[], context: PolicyContext): Violation[];
}

export function describe(obj: Manifest): string {
  const ns = obj.metadata?.namespace;
  return `${String(obj.kind)} ${ns ? `${ns}/` : ''}${obj.metadata?.name ?? '(unnamed)'}`;
}
