import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NetworkProps {
  readonly cidr: string;
  readonly availabilityZones: readonly string[];
  /** @default 1 */
  readonly natGateways?: number;
  /** ECR, STS and CloudWatch Logs interface endpoints. @default false */
  readonly interfaceEndpoints?: boolean;
  /** Retention of the rejected-traffic flow log. @default 14 days */
  readonly flowLogRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The VPC: public subnets (NAT gateways and the internet-facing NLB), private subnets for the nodes, and isolated
 * data subnets for DocumentDB and ElastiCache, which have no route to the internet at all. The S3 gateway endpoint
 * is free and carries ECR's image layers, so image pulls never pay NAT processing.
 */
export class Network extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly appSubnets: ec2.SubnetSelection = { subnetGroupName: 'app' };
  public readonly dataSubnets: ec2.SubnetSelection = { subnetGroupName: 'data' };

  public constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const nat = props.natGateways ?? 1;
    if (nat < 1 || nat > props.availabilityZones.length)
      throw new Error(
        `Network ${id}: natGateways must be 1..${props.availabilityZones.length}; set one per AZ at most`,
      );
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: [...props.availabilityZones],
      natGateways: nat,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        // Pods take VPC addresses (VPC CNI): the app subnets get the room.
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 19 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    // Rejected flows only: what a security review needs, at a fraction of ALL's log volume.
    this.vpc.addFlowLog('Rejected', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    if (props.interfaceEndpoints) {
      const services: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
        EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
        EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        Sts: ec2.InterfaceVpcEndpointAwsService.STS,
        Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      };
      const endpoints = new ec2.SecurityGroup(this, 'EndpointsSecurityGroup', {
        vpc: this.vpc,
        description: 'Interface endpoints: HTTPS from inside the VPC only',
        allowAllOutbound: false,
      });
      endpoints.addIngressRule(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
      for (const [name, service] of Object.entries(services))
        this.vpc.addInterfaceEndpoint(name, {
          service,
          subnets: this.appSubnets,
          privateDnsEnabled: true,
          open: false,
          securityGroups: [endpoints],
        });
    }
  }
}
