import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';
import { NO_ROTATION } from './document-db.ts';

export interface RedisCacheProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** Replication group id (and user-id prefix); unique per account and region. */
  readonly name: string;
  readonly nodeType: string;
  /** Read replicas besides the primary; 1 or more turns on Multi-AZ with automatic failover. */
  readonly replicas: number;
  /** @default 6379 */
  readonly port?: number;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}

/** The application's user: every key and stream, no administrative commands. */
const APP_ACCESS = 'on ~* &* +@all -@dangerous';

/**
 * ElastiCache for Valkey (Redis OSS compatible; about 20 % cheaper per node than Redis OSS), cluster mode off: one
 * shard, so Redis Streams and multi-key commands work as on a single Redis. TLS in transit, encryption at rest, and
 * RBAC: the app authenticates as its own user, whose password is generated into Secrets Manager; the `default` user
 * is switched off. Isolated subnets only.
 */
export class RedisCache extends Construct {
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** `{"username": ..., "password": ...}` of the app's user. */
  public readonly secret: secretsmanager.Secret;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly port: number;

  public constructor(scope: Construct, id: string, props: RedisCacheProps) {
    super(scope, id);
    this.port = props.port ?? 6379;
    const engine = 'valkey';
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'ElastiCache: reachable from the EKS nodes only',
      allowAllOutbound: false,
    });
    const password = (name: string, username: string): secretsmanager.Secret =>
      new secretsmanager.Secret(this, name, {
        description: `ElastiCache ${props.name}: user ${username}`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username }),
          generateStringKey: 'password',
          excludePunctuation: true,
          passwordLength: 40,
        },
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.secret = password('AppUserSecret', 'meshmart');
    const defaultSecret = password('DefaultUserSecret', 'default');
    const user = (name: string, userName: string, access: string, secret: secretsmanager.Secret) =>
      new elasticache.CfnUser(this, name, {
        userId: `${props.name}-${userName}`,
        userName,
        engine,
        accessString: access,
        authenticationMode: {
          Type: 'password',
          Passwords: [secret.secretValueFromJson('password').unsafeUnwrap()],
        },
      });
    const app = user('AppUser', 'meshmart', APP_ACCESS, this.secret);
    // ElastiCache requires a user named "default" in every group; this one can do nothing.
    const off = user('DefaultUser', 'default', 'off -@all', defaultSecret);
    const group = new elasticache.CfnUserGroup(this, 'Users', {
      userGroupId: `${props.name}-users`,
      engine,
      userIds: [off.userId, app.userId],
    });
    group.addResourceDependency(off);
    group.addResourceDependency(app);

    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: `ElastiCache ${props.name}: isolated data subnets`,
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });
    const slowLog = new logs.LogGroup(this, 'SlowLog', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const multiAz = props.replicas >= 1;
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupId: props.name,
      replicationGroupDescription: `MeshMart ${props.name}: cache, rate limits and event streams`,
      engine,
      engineVersion: '8.0',
      cacheNodeType: props.nodeType,
      numCacheClusters: 1 + props.replicas,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      port: this.port,
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      userGroupIds: [group.ref],
      snapshotRetentionLimit: 1,
      preferredMaintenanceWindow: 'sun:04:30-sun:05:30',
      logDeliveryConfigurations: [
        {
          destinationType: 'cloudwatch-logs',
          destinationDetails: { cloudWatchLogsDetails: { logGroup: slowLog.logGroupName } },
          logFormat: 'json',
          logType: 'slow-log',
        },
      ],
    });
    this.replicationGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.DESTROY);
    acknowledge(this.replicationGroup, {
      'AwsSolutions-AEC6':
        'RBAC instead of the shared AUTH token: the app has its own user and password (Secrets Manager), the default user is off.',
      ...(multiAz
        ? {}
        : {
            'AwsSolutions-AEC4':
              'Non-production only: one node halves the cost; losing it loses cached data and undelivered events, acceptable outside production.',
          }),
    });
    for (const secret of [this.secret, defaultSecret])
      acknowledge(secret, { 'AwsSolutions-SMG4': NO_ROTATION });
  }

  /** The primary endpoint's host name (a CloudFormation reference). */
  public get host(): string {
    return this.replicationGroup.attrPrimaryEndPointAddress;
  }
}
