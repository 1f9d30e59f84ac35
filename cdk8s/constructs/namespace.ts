import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import {
  NAMESPACE_NAME_LABEL,
  PART_OF,
  PART_OF_LABEL,
  POD_SECURITY_EXCEPTION_ANNOTATION,
} from '@meshmart/mesh/names.ts';

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

// The annotation naming the POD_SECURITY_EXCEPTIONS entry that lets a namespace enforce less than "restricted".
export { POD_SECURITY_EXCEPTION_ANNOTATION };

export interface PodSecurityException {
  /** The lowest level that admits what runs there. */
  readonly level: Exclude<PodSecurityLevel, 'restricted'>;
  /**
   * Our own pod templates there still pass "restricted" (only what the platform injects at admission needs the lower
   * level); false when a workload we ship needs it itself.
   */
  readonly podTemplatesRestricted: boolean;
  readonly reason: string;
}

/**
 * Every reason a MeshMart namespace may enforce less than Pod Security "restricted". test/kube/dry-run.test.ts fails
 * for a namespace that is not restricted without naming one of these, and proves each one against the real API server.
 */
export const POD_SECURITY_EXCEPTIONS = {
  'app-mesh-proxyinit': {
    level: 'privileged',
    podTemplatesRestricted: true,
    reason:
      "App Mesh's injector adds a 'proxyinit' init container with capabilities.add [NET_ADMIN] to set up iptables, " +
      'which "restricted" and "baseline" both reject. Its CNI mode (appmesh.k8s.aws/appmeshCNI, no init container) ' +
      'exists only where the platform ships the App Mesh CNI plugin (EKS Fargate, ECS), and even there the injected ' +
      'envoy container sets only runAsUser: 1337, not allowPrivilegeEscalation: false nor capabilities.drop [ALL], ' +
      'so "restricted" is out of reach with App Mesh. Audit and warn stay at "restricted".',
  },
  'fluentd-host-logs': {
    level: 'privileged',
    podTemplatesRestricted: false,
    reason:
      "Fluentd's DaemonSet reads every container log of its node through a hostPath volume (/var/log, read-only), " +
      'and hostPath volumes are forbidden by "baseline" and "restricted" alike. The container itself runs non-root, ' +
      'read-only, without capabilities; audit and warn stay at "restricted".',
  },
} as const satisfies Record<string, PodSecurityException>;

export type PodSecurityExceptionName = keyof typeof POD_SECURITY_EXCEPTIONS;

interface NamespaceLike {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
}

/**
 * What is wrong with these namespaces' Pod Security: each must enforce "restricted" (latest), or name a
 * POD_SECURITY_EXCEPTIONS entry and enforce exactly its level; all must audit and warn on "restricted". [] when fine.
 */
export function podSecurityProblems(namespaces: readonly NamespaceLike[]): string[] {
  const problems: string[] = [];
  for (const ns of namespaces) {
    const name = ns.metadata?.name ?? '?';
    const labels = ns.metadata?.labels ?? {};
    const named = ns.metadata?.annotations?.[POD_SECURITY_EXCEPTION_ANNOTATION];
    const exception = named
      ? (POD_SECURITY_EXCEPTIONS as Record<string, PodSecurityException | undefined>)[named]
      : undefined;
    if (named && !exception) problems.push(`${name}: names unknown Pod Security exception '${named}'`);
    const want = exception?.level ?? 'restricted';
    const enforce = labels['pod-security.kubernetes.io/enforce'];
    if (enforce !== want)
      problems.push(
        `${name}: enforces ${enforce ?? 'nothing'}, want ${want}` +
          (named ? ` (exception '${named}')` : ' (or name a POD_SECURITY_EXCEPTIONS entry)'),
      );
    for (const mode of ['audit', 'warn'])
      if (labels[`pod-security.kubernetes.io/${mode}`] !== 'restricted')
        problems.push(
          `${name}: ${mode}s ${labels[`pod-security.kubernetes.io/${mode}`] ?? 'nothing'}, want restricted`,
        );
    for (const mode of ['enforce', 'audit', 'warn'])
      if (labels[`pod-security.kubernetes.io/${mode}-version`] !== 'latest')
        problems.push(`${name}: ${mode}-version is not 'latest'`);
  }
  return problems;
}

export interface MeshmartNamespaceProps {
  readonly name: string;
  /** Pod Security level enforced by admission; ignored when `exception` is set. @default 'restricted' */
  readonly enforce?: PodSecurityLevel;
  /** Enforce the level of this POD_SECURITY_EXCEPTIONS entry, and name it on the namespace. @default none */
  readonly exception?: PodSecurityExceptionName;
  /** Pod Security level audited and warned about. @default 'restricted' */
  readonly auditAndWarn?: PodSecurityLevel;
  /** Extra labels, e.g. the mesh's sidecar-injection or readiness-gate labels. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A Namespace with Pod Security Admission labels (enforce, audit and warn). */
export class MeshmartNamespace extends Construct {
  public readonly name: string;

  public constructor(scope: Construct, id: string, props: MeshmartNamespaceProps) {
    super(scope, id);
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(props.name))
      throw new Error(
        `MeshmartNamespace: '${props.name}' is not a DNS-1123 label; use lowercase letters, digits and '-'`,
      );
    this.name = props.name;
    const exception = props.exception ? POD_SECURITY_EXCEPTIONS[props.exception] : undefined;
    const enforce = exception?.level ?? props.enforce ?? 'restricted';
    const auditAndWarn = props.auditAndWarn ?? 'restricted';
    new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name: props.name,
        ...(props.exception ? { annotations: { [POD_SECURITY_EXCEPTION_ANNOTATION]: props.exception } } : {}),
        labels: {
          [PART_OF_LABEL]: PART_OF,
          [NAMESPACE_NAME_LABEL]: props.name,
          'pod-security.kubernetes.io/enforce': enforce,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': auditAndWarn,
          'pod-security.kubernetes.io/audit-version': 'latest',
          'pod-security.kubernetes.io/warn': auditAndWarn,
          'pod-security.kubernetes.io/warn-version': 'latest',
          ...props.labels,
        },
      },
    });
  }
}
