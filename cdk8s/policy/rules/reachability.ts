import { NAME_LABEL } from '@meshmart/mesh/names.ts';
import { appliesTo, namespaceLabels, networkPolicies, type NetworkPolicyPeer } from '../network-policies.ts';
import type { PolicyContext, PolicyRule, Violation } from '../types.ts';
import { isEmptySelector, selectorMatches, workloads, type Workload } from '../workloads.ts';

/** A namespace no manifest names: a selector that matches it matches "any namespace". */
const ELSEWHERE = 'zz-any-other-namespace';

/**
 * Who NetworkPolicies let into a service's pods: model services of the app namespace, other pods there, other
 * namespaces, IP blocks, or anyone.
 */
interface Sources {
  readonly services: Set<string>;
  readonly otherPods: Set<string>;
  readonly namespaces: Set<string>;
  readonly ipBlocks: Set<string>;
  anyone: boolean;
}

function sourcesOf(
  target: Workload[],
  objects: Parameters<PolicyRule['check']>[0],
  ctx: PolicyContext,
): Sources {
  const all = workloads(objects);
  const known = new Map<string, Record<string, string>>();
  for (const o of objects)
    if (o.kind === 'Namespace' && o.metadata?.name) known.set(o.metadata.name, { ...o.metadata.labels });
  const namespaceNames = [
    ...new Set([...known.keys(), ctx.metricsNamespace, ctx.model.namespace, ELSEWHERE]),
  ];
  const out: Sources = {
    services: new Set(),
    otherPods: new Set(),
    namespaces: new Set(),
    ipBlocks: new Set(),
    anyone: false,
  };
  const policies = networkPolicies(objects).filter(
    (p) => p.types.includes('Ingress') && target.some((w) => appliesTo(p, w.namespace, w.podLabels)),
  );
  const addPods = (namespace: string, peer: NetworkPolicyPeer): void => {
    for (const w of all) {
      if (w.namespace !== namespace || !selectorMatches(peer.podSelector, w.podLabels)) continue;
      const name = w.podLabels[NAME_LABEL] ?? w.name;
      if (ctx.model.services.some((s) => s.name === name) && namespace === ctx.model.namespace)
        out.services.add(name);
      else out.otherPods.add(`${namespace}/${name}`);
    }
  };
  for (const p of policies) {
    for (const rule of p.ingress) {
      if (!rule.from || rule.from.length === 0) {
        out.anyone = true;
        continue;
      }
      for (const peer of rule.from) {
        if (peer.ipBlock) {
          out.ipBlocks.add(peer.ipBlock.cidr);
          continue;
        }
        if (!peer.namespaceSelector) {
          addPods(p.namespace, peer);
          continue;
        }
        for (const ns of namespaceNames) {
          if (!selectorMatches(peer.namespaceSelector, namespaceLabels(ns, known))) continue;
          if (ns === ELSEWHERE) out.anyone = true;
          else if (ns === ctx.model.namespace) addPods(ns, peer);
          else out.namespaces.add(isEmptySelector(peer.podSelector) ? ns : `${ns} (some pods)`);
        }
      }
    }
  }
  return out;
}

export const reachabilityRule: PolicyRule = {
  id: 'reachability',
  description:
    "every service's pods admit exactly the traffic model's callers (plus metrics scraping; anyone only for the public service)",
  check(objects, ctx) {
    const out: Violation[] = [];
    const all = workloads(objects);
    for (const s of ctx.model.services) {
      const target = all.filter(
        (w) => w.namespace === ctx.model.namespace && w.podLabels[NAME_LABEL] === s.name,
      );
      const object = `Service ${ctx.model.namespace}/${s.name}`;
      if (target.length === 0) {
        out.push({ rule: this.id, object, message: 'no workload runs this service' });
        continue;
      }
      const src = sourcesOf(target, objects, ctx);
      const add = (message: string): void => {
        out.push({ rule: this.id, object, message });
      };
      const lattice = ctx.lattice;
      const expected = new Set<string>(lattice && !lattice.alongsidePods ? [] : s.callers);
      for (const caller of [...src.services].sort())
        if (!expected.has(caller) && caller !== s.name)
          add(`admits ${caller}, which the traffic model does not let call it`);
      for (const caller of [...expected].sort())
        if (!src.services.has(caller)) add(`blocks ${caller}, a caller in the traffic model`);
      if (lattice) {
        const admitted = src.ipBlocks.has(lattice.cidr);
        if (s.callers.length > 0 && !admitted)
          add(`blocks the Lattice data plane ${lattice.cidr}, yet it has callers`);
        if (s.callers.length === 0 && admitted && !s.public)
          add(`admits the Lattice data plane ${lattice.cidr} but has no callers`);
        src.ipBlocks.delete(lattice.cidr);
        if (s.callers.length > 0) {
          const want = s.callers.map((c) => lattice.principal(c)).sort();
          const got = iamPrincipals(objects, ctx.model.namespace, s.name);
          if (got === undefined) add('has callers but no IAMAuthPolicy on its HTTPRoute');
          else if (JSON.stringify(got) !== JSON.stringify(want))
            add(
              `IAMAuthPolicy admits ${got.join(', ') || 'nobody'}; the traffic model's callers are ${want.join(', ')}`,
            );
        }
      }
      if (s.public) continue;
      if (src.anyone) add('admits traffic from anywhere, but it is not the public service');
      for (const pod of [...src.otherPods].sort())
        add(`admits pods ${pod}, which are not in the traffic model`);
      for (const ns of [...src.namespaces].sort())
        if (ns !== ctx.metricsNamespace)
          add(`admits namespace ${ns}, which is neither a caller nor the metrics scraper`);
      for (const cidr of [...src.ipBlocks].sort())
        add(`admits ipBlock ${cidr}, which the traffic model does not allow`);
    }
    return out;
  },
};

/** Allowed AWS principals of the IAMAuthPolicy targeting the service's HTTPRoute, sorted; undefined when none. */
function iamPrincipals(
  objects: Parameters<PolicyRule['check']>[0],
  namespace: string,
  route: string,
): string[] | undefined {
  const policy = objects.find((o) => {
    const target = (o.spec as { targetRef?: { kind?: string; name?: string } } | undefined)?.targetRef;
    return (
      o.kind === 'IAMAuthPolicy' &&
      o.metadata?.namespace === namespace &&
      target?.kind === 'HTTPRoute' &&
      target.name === route
    );
  });
  if (!policy) return undefined;
  const doc = JSON.parse(String((policy.spec as { policy?: string }).policy ?? '{}')) as {
    Statement?: { Effect?: string; Principal?: { AWS?: string | string[] } | string }[];
  };
  const principals: string[] = [];
  for (const st of doc.Statement ?? []) {
    if (st.Effect !== 'Allow') continue;
    if (typeof st.Principal === 'string') principals.push(st.Principal);
    else {
      const aws = st.Principal?.AWS;
      principals.push(...(Array.isArray(aws) ? aws : aws ? [aws] : []));
    }
  }
  return principals.sort();
}
