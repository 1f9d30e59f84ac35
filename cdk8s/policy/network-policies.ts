import type { LabelSelector } from './workloads.ts';
import { isEmptySelector, selectorMatches } from './workloads.ts';
import type { Manifest } from './types.ts';
import { NAMESPACE_NAME_LABEL } from '@meshmart/mesh/names.ts';

export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
}

export interface NetworkPolicyRule {
  readonly from?: readonly NetworkPolicyPeer[];
  readonly to?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly { readonly port?: number | string; readonly protocol?: string }[];
}

export interface NetworkPolicyView {
  readonly object: Manifest;
  readonly namespace: string;
  readonly podSelector: LabelSelector;
  readonly types: readonly ('Ingress' | 'Egress')[];
  readonly ingress: readonly NetworkPolicyRule[];
  readonly egress: readonly NetworkPolicyRule[];
}

/** NetworkPolicies with policyTypes defaulted the way the API server does. */
export function networkPolicies(objects: readonly Manifest[]): NetworkPolicyView[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((object) => {
      const spec = (object.spec ?? {}) as {
        podSelector?: LabelSelector;
        policyTypes?: ('Ingress' | 'Egress')[];
        ingress?: NetworkPolicyRule[];
        egress?: NetworkPolicyRule[];
      };
      const types = spec.policyTypes ?? ['Ingress', ...(spec.egress ? (['Egress'] as const) : [])];
      return {
        object,
        namespace: object.metadata?.namespace ?? 'default',
        podSelector: spec.podSelector ?? {},
        types,
        ingress: spec.ingress ?? [],
        egress: spec.egress ?? [],
      };
    });
}

/** Selects every pod of its namespace and allows nothing in either direction. */
export function isDefaultDeny(p: NetworkPolicyView): boolean {
  return (
    isEmptySelector(p.podSelector) &&
    p.types.includes('Ingress') &&
    p.types.includes('Egress') &&
    p.ingress.length === 0 &&
    p.egress.length === 0
  );
}

/** Labels a namespace is assumed to carry: the automatic `kubernetes.io/metadata.name` (plus known extras). */
export function namespaceLabels(
  name: string,
  known: ReadonlyMap<string, Readonly<Record<string, string>>>,
): Readonly<Record<string, string>> {
  return { ...known.get(name), [NAMESPACE_NAME_LABEL]: name };
}

export function appliesTo(
  p: NetworkPolicyView,
  namespace: string,
  podLabels: Readonly<Record<string, string>>,
): boolean {
  return p.namespace === namespace && selectorMatches(p.podSelector, podLabels);
}
