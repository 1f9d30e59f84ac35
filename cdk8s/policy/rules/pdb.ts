import { describe, type PolicyRule, type Violation } from '../types.ts';
import { selectorMatches, workloads, type LabelSelector } from '../workloads.ts';

export const pdbRule: PolicyRule = {
  id: 'pdb',
  description:
    'every Deployment or StatefulSet with more than one replica is covered by a PodDisruptionBudget',
  check(objects) {
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    const out: Violation[] = [];
    for (const w of workloads(objects)) {
      if (w.kind !== 'Deployment' && w.kind !== 'StatefulSet') continue;
      if (w.replicas <= 1) continue;
      const covered = pdbs.some(
        (p) =>
          (p.metadata?.namespace ?? 'default') === w.namespace &&
          selectorMatches(
            (p.spec as { selector?: LabelSelector } | undefined)?.selector ?? { matchLabels: { '': '\0' } },
            w.podLabels,
          ),
      );
      if (!covered)
        out.push({
          rule: this.id,
          object: describe(w.object),
          message: `${w.replicas} replicas but no PodDisruptionBudget selects its pods`,
        });
    }
    return out;
  },
};
