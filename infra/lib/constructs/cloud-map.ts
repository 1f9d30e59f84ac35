import { Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import type { KubeObject } from '@meshmart/cdk8s/synth.ts';
import type { CloudMapDiscovery } from '../environments.ts';
import type { StatementJson } from './lattice-dns.ts';

export interface CloudMapNamespaceProps {
  readonly vpc: ec2.IVpc;
  readonly discovery: CloudMapDiscovery;
}

/**
 * The AWS Cloud Map namespace the App Mesh VirtualNodes name (`serviceDiscovery.awsCloudMap.namespaceName`): the App
 * Mesh controller creates a Cloud Map service per catalogue service in it and registers each pod as an instance.
 * A private DNS namespace comes with a Route 53 private hosted zone associated with the VPC, where Cloud Map writes an
 * A record per instance.
 */
export class CloudMapNamespace extends Construct {
  public readonly name: string;
  public readonly namespaceArn: string;
  /** The Route 53 zone of a private DNS namespace; undefined for an HTTP namespace. */
  public readonly hostedZoneArn?: string;

  public constructor(scope: Construct, id: string, props: CloudMapNamespaceProps) {
    super(scope, id);
    const { namespace, namespaceType } = props.discovery;
    const description = 'MeshMart: App Mesh service discovery, registered by the App Mesh controller';
    this.name = namespace;
    if (namespaceType === 'dns-private') {
      const ns = new servicediscovery.PrivateDnsNamespace(this, 'Namespace', {
        name: namespace,
        vpc: props.vpc,
        description,
      });
      this.namespaceArn = ns.namespaceArn;
      this.hostedZoneArn = Stack.of(this).formatArn({
        service: 'route53',
        region: '',
        account: '',
        resource: 'hostedzone',
        resourceName: ns.namespaceHostedZoneId,
      });
    } else {
      const ns = new servicediscovery.HttpNamespace(this, 'Namespace', { name: namespace, description });
      this.namespaceArn = ns.namespaceArn;
    }
  }
}

/** The Cloud Map namespace each App Mesh VirtualNode discovers its endpoints in (none with DNS discovery). */
export function virtualNodeNamespaces(objects: readonly KubeObject[]): string[] {
  const names = objects
    .filter((o) => o.kind === 'VirtualNode')
    .map(
      (o) =>
        (o as { spec?: { serviceDiscovery?: { awsCloudMap?: { namespaceName?: string } } } }).spec
          ?.serviceDiscovery?.awsCloudMap?.namespaceName,
    )
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)].sort();
}

export interface CloudMapGrantTargets {
  readonly namespaceArn: string;
  /** Every Cloud Map service of the account and region: `arn:<partition>:servicediscovery:<region>:<account>:service/*`. */
  readonly servicesArn: string;
  /** A private DNS namespace's hosted zone, where Cloud Map writes the instances' records on the caller's behalf. */
  readonly hostedZoneArn?: string;
}

/**
 * The Cloud Map part of the App Mesh controller's documented IAM policy (aws-app-mesh-controller-for-k8s v1.13.3,
 * config/iam/controller-iam-policy.json), scoped as far as the API allows: CreateService on the one namespace; the
 * service and instance actions on Cloud Map services, whose ids (`srv-...`) are generated when the controller creates
 * them; ListNamespaces and ListServices have no resource-level permission. The controller calls exactly these
 * (pkg/cloudmap). Route 53: only ChangeResourceRecordSets on the namespace's own zone, which Cloud Map needs for a
 * DNS namespace's records; the documented health-check actions are left out, because the controller never creates a
 * Route 53 health check (its services have no HealthCheckConfig, which private DNS and HTTP namespaces do not allow).
 */
export function appMeshCloudMapStatements(t: CloudMapGrantTargets): StatementJson[] {
  return [
    {
      Sid: 'CloudMapFindTheNamespaceAndServices',
      Effect: 'Allow',
      Action: ['servicediscovery:ListNamespaces', 'servicediscovery:ListServices'],
      Resource: '*',
    },
    {
      Sid: 'CloudMapCreateServicesInTheNamespace',
      Effect: 'Allow',
      Action: ['servicediscovery:CreateService'],
      Resource: [t.namespaceArn, t.servicesArn],
    },
    {
      Sid: 'CloudMapManageServicesAndInstances',
      Effect: 'Allow',
      Action: [
        'servicediscovery:GetService',
        'servicediscovery:DeleteService',
        'servicediscovery:RegisterInstance',
        'servicediscovery:DeregisterInstance',
        'servicediscovery:GetInstance',
        'servicediscovery:ListInstances',
        'servicediscovery:GetInstancesHealthStatus',
        'servicediscovery:UpdateInstanceCustomHealthStatus',
      ],
      Resource: t.servicesArn,
    },
    {
      Sid: 'CloudMapFollowOperations',
      Effect: 'Allow',
      Action: ['servicediscovery:GetOperation'],
      Resource: [t.namespaceArn, t.servicesArn],
    },
    ...(t.hostedZoneArn
      ? [
          {
            Sid: 'CloudMapWriteTheNamespaceRecords',
            Effect: 'Allow' as const,
            Action: ['route53:ChangeResourceRecordSets'],
            Resource: t.hostedZoneArn,
          },
        ]
      : []),
  ];
}
