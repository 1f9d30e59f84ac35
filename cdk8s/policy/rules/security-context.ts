import { describe, type PolicyRule, type Violation } from '../types.ts';
import { allContainers, workloads } from '../workloads.ts';

export const securityContextRule: PolicyRule = {
  id: 'security-context',
  description:
    'every container runs as non-root with a read-only root filesystem, no privilege escalation, ALL capabilities dropped and seccomp RuntimeDefault',
  check(objects) {
    const out: Violation[] = [];
    for (const w of workloads(objects)) {
      const pod = w.pod.securityContext ?? {};
      for (const c of allContainers(w.pod)) {
        const sc = c.securityContext ?? {};
        const problems: string[] = [];
        const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
        const uid = sc.runAsUser ?? pod.runAsUser;
        if (nonRoot !== true) problems.push('runAsNonRoot is not true');
        if (uid === 0) problems.push('runAsUser is 0 (root)');
        if (sc.readOnlyRootFilesystem !== true) problems.push('readOnlyRootFilesystem is not true');
        if (sc.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation is not false');
        if (sc.privileged === true) problems.push('privileged is true');
        if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push('capabilities.drop lacks ALL');
        if ((sc.capabilities?.add ?? []).length > 0)
          problems.push(`capabilities.add ${sc.capabilities?.add?.join(',')}`);
        const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
        if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
          problems.push('seccompProfile is not RuntimeDefault');
        if (problems.length > 0)
          out.push({
            rule: this.id,
            object: describe(w.object),
            message: `container ${c.name}: ${problems.join('; ')}`,
          });
      }
    }
    return out;
  },
};
