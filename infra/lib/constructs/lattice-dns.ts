import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import type { KubeObject } from '@meshmart/cdk8s/synth.ts';

/** One statement of an IAM policy document, as JSON (`iam.PolicyStatement.fromJson` takes it). */
export interface StatementJson {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

/** The record types ExternalDNS writes for the Lattice names: the controller's CNAMEs and its own TXT owner records. */
export const EXTERNAL_DNS_RECORD_TYPES = ['CNAME', 'TXT'] as const;

export interface LatticeDnsProps {
  readonly vpc: ec2.IVpc;
  /** The profile's Lattice domain (`latticeDomain` of the cdk8s config): each HTTPRoute hostname is under it. */
  readonly domain: string;
  /** The profile's objects, whose HTTPRoute hostnames the zone must hold. */
  readonly objects: readonly KubeObject[];
}

/**
 * The Route 53 private hosted zone of the Lattice custom domain names, associated with the cluster's VPC. Its records
 * are written by ExternalDNS from the DNSEndpoints the AWS Gateway API Controller makes of the HTTPRoutes' hostnames
 * (a CNAME per service to its generated Lattice DNS name), so callers in the VPC resolve `<service>.<domain>`.
 */
export class LatticeDns extends Construct {
  public readonly zone: route53.PrivateHostedZone;
  public readonly domain: string;
  /** The HTTPRoute hostnames the zone will hold, sorted. */
  public readonly hostnames: readonly string[];

  public constructor(scope: Construct, id: string, props: LatticeDnsProps) {
    super(scope, id);
    this.domain = props.domain;
    this.hostnames = latticeHostnames(props.objects, props.domain);
    this.zone = new route53.PrivateHostedZone(this, 'Zone', {
      zoneName: props.domain,
      vpc: props.vpc,
      comment: 'MeshMart: VPC Lattice custom domain names of the HTTPRoutes, written by ExternalDNS',
    });
  }
}

/** The hostnames of the HTTPRoutes; each must be under `domain`, or no record in the zone could serve it. */
export function latticeHostnames(objects: readonly KubeObject[], domain: string): string[] {
  const hostnames = objects
    .filter((o) => o.kind === 'HTTPRoute')
    .flatMap((o) => (o as { spec?: { hostnames?: string[] } }).spec?.hostnames ?? []);
  const outside = hostnames.filter((h) => !h.endsWith(`.${domain}`));
  if (outside.length > 0)
    throw new Error(
      `LatticeDns: HTTPRoute hostnames ${outside.join(', ')} are not under '${domain}', the zone ExternalDNS writes; ` +
        'render them with the latticeDomain of the cdk8s config',
    );
  return [...new Set(hostnames)].sort();
}

/**
 * ExternalDNS's rights (AWS provider, as its AWS tutorial lists them) narrowed to one zone: it may change CNAME and
 * TXT records there and read that zone's records; ListHostedZones has no resource-level permission. No
 * ListTagsForResources: ExternalDNS calls it only to filter zones by tag, which is not configured.
 */
export function externalDnsStatements(zoneArn: string): StatementJson[] {
  return [
    {
      Sid: 'ChangeTheLatticeZone',
      Effect: 'Allow',
      Action: ['route53:ChangeResourceRecordSets'],
      Resource: zoneArn,
      Condition: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsRecordTypes': EXTERNAL_DNS_RECORD_TYPES,
        },
      },
    },
    {
      Sid: 'ReadTheLatticeZone',
      Effect: 'Allow',
      Action: ['route53:ListResourceRecordSets'],
      Resource: zoneArn,
    },
    { Sid: 'FindTheZone', Effect: 'Allow', Action: ['route53:ListHostedZones'], Resource: '*' },
  ];
}
