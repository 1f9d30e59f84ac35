import { appliesTo, isDefaultDeny, networkPolicies } from '../network-policies.ts';
import { describe, type PolicyRule, type Violation } from '../types.ts';
import { workloads } from '../workloads.ts';

export const networkCoverageRule: PolicyRule = {
  id: 'network-coverage',
  description:
    'every namespace with workloads has a default-deny NetworkPolicy (ingress and egress), and every workload is selected by a policy restricting both directions',
  check(objects) {
    const policies = networkPolicies(objects);
    const out: Violation[] = [];
    const all = workloads(objects);
    for (const ns of [...new Set(all.map((w) => w.namespace))].sort()) {
      if (!policies.some((p) => p.namespace === ns && isDefaultDeny(p)))
        out.push({
          rule: this.id,
          object: `Namespace ${ns}`,
          message:
            'has workloads but no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress+Egress, no rules)',
        });
    }
    for (const w of all) {
      const mine = policies.filter((p) => appliesTo(p, w.namespace, w.podLabels));
      const missing = (['Ingress', 'Egress'] as const).filter((t) => !mine.some((p) => p.types.includes(t)));
      if (missing.length > 0)
        out.push({
          rule: this.id,
          object: describe(w.object),
          message: `no NetworkPolicy restricts its ${missing.join(' and ').toLowerCase()} traffic`,
        });
    }
    return out;
  },
};
