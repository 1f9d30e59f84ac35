import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { PART_OF, PART_OF_LABEL } from './labels.ts';

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

export interface MeshmartNamespaceProps {
  readonly name: string;
  /** Pod Security level enforced by admission. @default 'restricted' */
  readonly enforce?: PodSecurityLevel;
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
    const enforce = props.enforce ?? 'restricted';
    const auditAndWarn = props.auditAndWarn ?? 'restricted';
    new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name: props.name,
        labels: {
          [PART_OF_LABEL]: PART_OF,
          'kubernetes.io/metadata.name': props.name,
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
