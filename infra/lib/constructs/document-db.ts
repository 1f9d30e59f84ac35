import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as docdb from 'aws-cdk-lib/aws-docdb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';

const AUDIT_EXPORT =
  "DocumentDB can export only 'audit' and 'profiler' (both on); the audit log, audit_logs=enabled, records authenticate, createIndex and dropCollection.";

/** Why generated credentials are not rotated automatically. */
export const NO_ROTATION =
  'Pods read the credentials at start (Secret -> env): a rotation would lock running pods out until a rollout. Rotate by hand with a rollout (docs/aws-infrastructure.md).';

/** Every ASCII punctuation mark: generated passwords are alphanumeric, so they need no URL-encoding in MONGO_URL. */
export const URL_UNSAFE_CHARACTERS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ ';

export interface DocumentDbProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** Cluster identifier; also names its log groups `/aws/docdb/<name>/{audit,profiler}`. */
  readonly clusterName: string;
  readonly instanceType: string;
  readonly instances: number;
  /** @default 27017 */
  readonly port?: number;
  readonly logRetention: logs.RetentionDays;
  /** Deletion protection and a final snapshot on delete. @default false */
  readonly production?: boolean;
}

/**
 * Amazon DocumentDB 5.0: encrypted storage, TLS required by its parameter group, the master credentials generated
 * into Secrets Manager, audit and profiler logs to CloudWatch, isolated subnets only.
 */
export class DocumentDb extends Construct {
  public readonly cluster: docdb.DatabaseCluster;
  public readonly secret: secretsmanager.ISecret;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly port: number;

  public constructor(scope: Construct, id: string, props: DocumentDbProps) {
    super(scope, id);
    this.port = props.port ?? 27017;
    const removalPolicy = props.production ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'DocumentDB: reachable from the EKS nodes only',
      allowAllOutbound: false,
    });
    const parameters = new docdb.ClusterParameterGroup(this, 'Parameters', {
      family: 'docdb5.0',
      description: 'MeshMart: TLS required, audit and profiler logs on',
      parameters: {
        tls: 'enabled',
        audit_logs: 'enabled',
        profiler: 'enabled',
        profiler_threshold_ms: '200',
      },
    });
    const logGroups = ['audit', 'profiler'].map(
      (kind) =>
        // Created here with a retention; DocumentDB would otherwise create them with none.
        new logs.LogGroup(this, `${kind}Logs`, {
          logGroupName: `/aws/docdb/${props.clusterName}/${kind}`,
          retention: props.logRetention,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
    );
    this.cluster = new docdb.DatabaseCluster(this, 'Cluster', {
      dbClusterName: props.clusterName,
      engineVersion: '5.0.0',
      masterUser: { username: 'meshmart', excludeCharacters: URL_UNSAFE_CHARACTERS },
      instanceType: new ec2.InstanceType(props.instanceType.replace(/^db\./, '')),
      instances: props.instances,
      port: this.port,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroup: this.securityGroup,
      parameterGroup: parameters,
      storageEncrypted: true,
      caCertificate: docdb.CaCertificate.RDS_CA_RSA2048_G1,
      backup: { retention: Duration.days(7), preferredWindow: '02:00-03:00' },
      preferredMaintenanceWindow: 'sun:03:30-sun:04:30',
      exportAuditLogsToCloudWatch: true,
      exportProfilerLogsToCloudWatch: true,
      deletionProtection: props.production ?? false,
      removalPolicy,
      copyTagsToSnapshot: true,
    });
    for (const group of logGroups) this.cluster.node.addDependency(group);
    if (!this.cluster.secret)
      throw new Error(`DocumentDb ${id}: no generated secret; keep masterUser without a password`);
    this.secret = this.cluster.secret;
    acknowledge(this.cluster, {
      'AwsSolutions-DOC3':
        'The password is generated into Secrets Manager (a dynamic reference); only the user name, meshmart, is in the template.',
      'AwsSolutions-DOC2':
        'The port is no secret: only the EKS nodes security group and the NetworkPolicies admit anyone to 27017.',
      'AwsSolutions-DOC5[LogExport::authenticate]': AUDIT_EXPORT,
      'AwsSolutions-DOC5[LogExport::createIndex]': AUDIT_EXPORT,
      'AwsSolutions-DOC5[LogExport::dropCollection]': AUDIT_EXPORT,
    });
    acknowledge(this.cluster.node.findChild('Secret'), { 'AwsSolutions-SMG4': NO_ROTATION });
  }

  /** The cluster endpoint's host name (a CloudFormation reference). */
  public get host(): string {
    return this.cluster.clusterEndpoint.hostname;
  }
}
