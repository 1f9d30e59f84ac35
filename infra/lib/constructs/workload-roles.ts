import { CfnJson } from 'aws-cdk-lib';
import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** A Kubernetes ServiceAccount that assumes an IAM role through IRSA. */
export interface WorkloadIdentity {
  /** Role key: a catalogue service or a platform workload (`fluentd`, `adot-collector`, ...). */
  readonly key: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface WorkloadRolesProps {
  readonly cluster: eks.Cluster;
  readonly identities: readonly WorkloadIdentity[];
  /** Role names are `<rolePrefix><key>`. */
  readonly rolePrefix: string;
}

/** The annotation IRSA reads on a ServiceAccount. */
export const ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';

/**
 * One IAM role per workload identity, trusted by the cluster's OIDC provider for exactly one ServiceAccount
 * (`sub` = system:serviceaccount:<namespace>:<name>, `aud` = sts.amazonaws.com). Roles start with no permission;
 * whoever knows what a workload calls grants it with `role(key).addToPrincipalPolicy(...)`.
 */
export class WorkloadRoles extends Construct {
  private readonly roles = new Map<string, iam.Role>();
  private readonly identityOf = new Map<string, WorkloadIdentity>();

  public constructor(scope: Construct, id: string, props: WorkloadRolesProps) {
    super(scope, id);
    const provider = props.cluster.openIdConnectProvider;
    const issuer = provider.openIdConnectProviderIssuer;
    for (const identity of props.identities) {
      if (this.roles.has(identity.key))
        throw new Error(
          `WorkloadRoles ${id}: identity '${identity.key}' listed twice; give each workload one key`,
        );
      const name = `${props.rolePrefix}${identity.key}`;
      if (name.length > 64)
        throw new Error(
          `WorkloadRoles ${id}: role name '${name}' is over IAM's 64 characters; shorten the prefix`,
        );
      // CloudFormation keys cannot be references: CfnJson resolves the issuer into the condition keys at deploy.
      const conditions = new CfnJson(this, `${identity.key}Conditions`, {
        value: {
          [`${issuer}:aud`]: 'sts.amazonaws.com',
          [`${issuer}:sub`]: `system:serviceaccount:${identity.namespace}:${identity.serviceAccount}`,
        },
      });
      const role = new iam.Role(this, identity.key, {
        roleName: name,
        description: `IRSA: ServiceAccount ${identity.namespace}/${identity.serviceAccount}`,
        assumedBy: new iam.OpenIdConnectPrincipal(provider).withConditions({ StringEquals: conditions }),
      });
      this.roles.set(identity.key, role);
      this.identityOf.set(role.roleArn, identity);
    }
  }

  public role(key: string): iam.Role {
    const role = this.roles.get(key);
    if (!role)
      throw new Error(
        `WorkloadRoles: no role for '${key}'; add it to the identities (infra/lib/stacks/environment-stack.ts)`,
      );
    return role;
  }

  /** Role ARN (a reference) per key, for the cdk8s config's `aws.roleArns`. */
  public arns(): Record<string, string> {
    return Object.fromEntries([...this.roles].map(([key, role]) => [key, role.roleArn]));
  }

  /** The identity whose role has this ARN reference, if it is one of ours. */
  public identityFor(arn: string): WorkloadIdentity | undefined {
    return this.identityOf.get(arn);
  }

  public get keys(): string[] {
    return [...this.roles.keys()];
  }
}
