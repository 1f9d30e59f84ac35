import { describe, type PolicyRule, type Violation } from '../types.ts';
import { allContainers, workloads } from '../workloads.ts';

export const resourcesRule: PolicyRule = {
  id: 'resources',
  description: 'every container sets cpu and memory requests and limits',
  check(objects) {
    const out: Violation[] = [];
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.pod)) {
        const missing: string[] = [];
        for (const kind of ['requests', 'limits'] as const)
          for (const res of ['cpu', 'memory'])
            if (c.resources?.[kind]?.[res] === undefined) missing.push(`${kind}.${res}`);
        if (missing.length > 0)
          out.push({
            rule: this.id,
            object: describe(w.object),
            message: `container ${c.name} has no ${missing.join(', ')}`,
          });
      }
    }
    return out;
  },
};
