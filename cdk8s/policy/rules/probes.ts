import { describe, type PolicyRule, type Violation } from '../types.ts';
import { workloads } from '../workloads.ts';

export const probesRule: PolicyRule = {
  id: 'probes',
  description: 'every container of every workload has a readiness and a liveness probe',
  check(objects) {
    const out: Violation[] = [];
    for (const w of workloads(objects)) {
      if (w.kind === 'Job' || w.kind === 'CronJob') continue;
      for (const c of w.pod.containers ?? []) {
        const missing = [
          ...(c.readinessProbe ? [] : ['readinessProbe']),
          ...(c.livenessProbe ? [] : ['livenessProbe']),
        ];
        if (missing.length > 0)
          out.push({
            rule: this.id,
            object: describe(w.object),
            message: `container ${c.name} has no ${missing.join(' or ')}`,
          });
      }
    }
    return out;
  },
};
