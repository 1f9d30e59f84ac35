import { readFileSync } from 'node:fs';
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { catalogue } from '@meshmart/catalogue';
import { defaultConfig, ecrRegistry, mergeConfig, type MeshmartConfig } from '@meshmart/cdk8s/config.ts';
import { INGRESS_GATEWAY } from '@meshmart/cdk8s/profiles/build.ts';
import { buildProfile, type Profile } from '@meshmart/cdk8s/profiles/index.ts';
import { LOGGING_NAMESPACE } from '@meshmart/cdk8s/constructs/observability/stack.ts';
import { profileObjects, type KubeObject } from '@meshmart/cdk8s/synth.ts';
import { ADDONS } from '../addons.ts';
import { names, type EnvironmentSpec } from '../environments.ts';
import { acknowledge } from '../nag.ts';
import { NO_ROTATION } from '../constructs/document-db.ts';
import { AppManifests } from '../constructs/app-manifests.ts';
import { CloudMapNamespace, virtualNodeNamespaces } from '../constructs/cloud-map.ts';
import { LatticeDns } from '../constructs/lattice-dns.ts';
import { EksCluster } from '../constructs/cluster.ts';
import { DocumentDb } from '../constructs/document-db.ts';
import { Network } from '../constructs/network.ts';
import { controllerIdentities, PlatformAddons } from '../constructs/platform-addons.ts';
import { RedisCache } from '../constructs/redis-cache.ts';
import { Registry } from '../constructs/registry.ts';
import { SECRETS_READER, secretsSyncObjects } from '../constructs/secrets-sync.ts';
import { ROLE_ANNOTATION, WorkloadRoles, type WorkloadIdentity } from '../constructs/workload-roles.ts';

/** Where VPC Lattice's data plane reaches the pods from (its managed prefix list, IPv4). */
export const LATTICE_DATA_PLANE_CIDR = '169.254.171.0/24';

export interface EnvironmentStackProps extends StackProps {
  readonly environment: EnvironmentSpec;
}

/**
 * One environment: VPC, EKS, DocumentDB, ElastiCache, ECR, the IRSA roles of every workload the manifests name,
 * the platform add-ons, and the cdk8s profile itself with the real endpoints, Secrets and role ARNs in place of the
 * config's examples. `cdk deploy` of this stack is the whole environment.
 */
export class EnvironmentStack extends Stack {
  public readonly spec: EnvironmentSpec;
  /** The cdk8s config the profile was built with (role ARNs and endpoints are CloudFormation references). */
  public readonly meshmartConfig: MeshmartConfig;
  public readonly profile: Profile;

  public constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    const e = props.environment;
    super(scope, id, {
      ...props,
      env: { account: e.account, region: e.region },
      description: `MeshMart ${e.name}: VPC, EKS ${e.profile}, DocumentDB, ElastiCache, ECR, IRSA roles, add-ons, app`,
      terminationProtection: e.production,
    });
    this.spec = e;
    const n = names(e);
    const retention = e.logRetentionDays as logs.RetentionDays;
    const removalPolicy = e.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const network = new Network(this, 'Network', {
      cidr: e.vpcCidr,
      availabilityZones: e.availabilityZones,
      natGateways: e.natGateways,
      interfaceEndpoints: e.interfaceEndpoints,
      flowLogRetention: retention,
    });
    const { cluster } = new EksCluster(this, 'Eks', {
      clusterName: n.cluster,
      vpc: network.vpc,
      subnets: network.appSubnets,
      instanceType: e.nodes.instanceType,
      minNodes: e.nodes.min,
      desiredNodes: e.nodes.desired,
      maxNodes: e.nodes.max,
      logRetention: retention,
      removalPolicy,
    });
    const docdb = new DocumentDb(this, 'DocumentDb', {
      vpc: network.vpc,
      subnets: network.dataSubnets,
      clusterName: n.cluster,
      instanceType: e.documentDb.instanceType,
      instances: e.documentDb.instances,
      logRetention: retention,
      production: e.production,
    });
    const cache = new RedisCache(this, 'Cache', {
      vpc: network.vpc,
      subnets: network.dataSubnets,
      name: n.cluster,
      nodeType: e.cache.nodeType,
      replicas: e.cache.replicas,
      logRetention: retention,
      removalPolicy,
    });
    // Pods use the node's network interfaces, which carry the cluster security group.
    for (const store of [docdb, cache])
      store.securityGroup.addIngressRule(
        cluster.clusterSecurityGroup,
        ec2.Port.tcp(store.port),
        'EKS nodes and pods',
      );

    const identities = workloadIdentities(e, defaultConfig());
    const roles = new WorkloadRoles(this, 'WorkloadRoles', { cluster, identities, rolePrefix: n.rolePrefix });
    const jwtKey = new secretsmanager.Secret(this, 'GatewayJwtKey', {
      description: `MeshMart ${e.name}: the gateway's HS256 signing key (jwt-signing-key)`,
      generateSecretString: { excludePunctuation: true, passwordLength: 64 },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.meshmartConfig = mergeConfig(defaultConfig(), {
      replicas: e.app.replicas,
      maxReplicas: e.app.maxReplicas,
      aws: {
        accountId: e.account,
        region: e.region,
        rolePrefix: n.rolePrefix,
        roleArns: roles.arns(),
        vpcCidr: e.vpcCidr,
        clusterName: n.cluster,
      },
      managedDatastores: {
        documentDbHost: docdb.host,
        documentDbPort: docdb.port,
        elastiCacheHost: cache.host,
        elastiCachePort: cache.port,
      },
      ...appMeshConfig(e),
    });
    const config = this.meshmartConfig;
    this.profile = buildProfile(e.profile, config);
    const objects = profileObjects(this.profile);
    checkServiceAccounts(objects, roles);
    checkCloudMapNamespace(objects, e);
    grantMeshAccess(objects, roles, this);
    grantLatticeInvoke(objects, roles, this);
    grantObservability(roles, this, n.cluster, retention);

    const registry = new Registry(this, 'Registry', {
      repositories: ecrRepositories(objects, ecrRegistry(config)),
      retain: e.production,
    });
    // Lattice callers dial <service>.<latticeDomain>: a private zone in the VPC, its records written by ExternalDNS.
    const latticeDns = ADDONS.externalDns.profiles.some((p) => p === e.profile)
      ? new LatticeDns(this, 'LatticeDns', { vpc: network.vpc, domain: config.latticeDomain, objects })
      : undefined;
    const cloudMap = e.cloudMap
      ? new CloudMapNamespace(this, 'CloudMap', { vpc: network.vpc, discovery: e.cloudMap })
      : undefined;
    const addons = new PlatformAddons(this, 'Addons', {
      cluster,
      profile: e.profile,
      roles: (k) => roles.role(k),
      ...(latticeDns ? { latticeDns } : {}),
      ...(cloudMap ? { cloudMap } : {}),
    });
    const app = new AppManifests(this, 'App', { cluster, profile: this.profile, after: addons.releases });

    const reader = roles.role(SECRETS_READER);
    for (const secret of [docdb.secret, cache.secret, jwtKey]) secret.grantRead(reader);
    const m = config.managedDatastores;
    const secrets = cluster.addManifest(
      'secrets-sync',
      ...secretsSyncObjects({
        namespace: config.namespace,
        region: e.region,
        role: reader,
        caBundleConfigMap: m.caBundleConfigMap,
        secrets: {
          [m.secretName]: [
            { key: 'mongo-username', secret: docdb.secret, property: 'username' },
            { key: 'mongo-password', secret: docdb.secret, property: 'password' },
            { key: 'redis-username', secret: cache.secret, property: 'username' },
            { key: 'redis-password', secret: cache.secret, property: 'password' },
          ],
          [config.gatewaySecretName]: [{ key: 'jwt-signing-key', secret: jwtKey }],
        },
      }),
    );
    for (const dep of [...app.namespaces, ...addons.releases]) secrets.node.addDependency(dep);
    for (const m of app.manifests.get('20-services') ?? []) m.node.addDependency(secrets);

    if (this.profile.callersVia !== 'pods')
      for (const entry of catalogue)
        cluster.clusterSecurityGroup.addIngressRule(
          ec2.Peer.ipv4(LATTICE_DATA_PLANE_CIDR),
          ec2.Port.tcp(entry.port),
          `VPC Lattice to ${entry.name}`,
        );

    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    for (const [name, repo] of registry.repositories)
      new CfnOutput(this, `Repository${name.replace(/[^A-Za-z0-9]/g, '')}`, { value: repo.repositoryUri });
    acknowledge(jwtKey, { 'AwsSolutions-SMG4': NO_ROTATION });
  }

  /** The environment's fixed AZs: synthesis never looks them up, so it needs no AWS account. */
  public override get availabilityZones(): string[] {
    return [...this.spec.availabilityZones];
  }
}

/** Every ServiceAccount the manifests annotate with an IRSA role, and those of the add-ons and secrets reader. */
export function workloadIdentities(e: EnvironmentSpec, config: MeshmartConfig): WorkloadIdentity[] {
  const ns = config.namespace;
  const obs = config.observability;
  const appMesh = e.profile !== 'eks-lattice';
  return [
    ...catalogue.map((s) => ({ key: s.name, namespace: ns, serviceAccount: s.name })),
    { key: 'fluentd', namespace: LOGGING_NAMESPACE, serviceAccount: 'fluentd' },
    { key: 'adot-collector', namespace: obs.otelNamespace, serviceAccount: obs.otelService },
    ...(appMesh ? [{ key: INGRESS_GATEWAY, namespace: ns, serviceAccount: INGRESS_GATEWAY }] : []),
    { key: SECRETS_READER, namespace: ns, serviceAccount: SECRETS_READER },
    ...controllerIdentities(e.profile),
  ];
}

/** The cdk8s config's App Mesh discovery for the environment: Cloud Map when it has a namespace, else the default. */
export function appMeshConfig(e: EnvironmentSpec): Pick<MeshmartConfig, 'appMesh'> {
  return e.cloudMap ? { appMesh: { discovery: 'cloudMap', cloudMapNamespace: e.cloudMap.namespace } } : {};
}

/** The VirtualNodes discover through the namespace the stack creates, or through DNS when it creates none. */
function checkCloudMapNamespace(objects: readonly KubeObject[], e: EnvironmentSpec): void {
  const named = virtualNodeNamespaces(objects);
  const created = e.cloudMap ? [e.cloudMap.namespace] : [];
  if (named.join() !== created.join())
    throw new Error(
      `EnvironmentStack ${e.name}: the VirtualNodes name Cloud Map namespaces [${named.join(', ')}] but the stack ` +
        `creates [${created.join(', ')}]; set cloudMap in infra/lib/environments.ts`,
    );
}

interface Annotated {
  readonly metadata: {
    readonly name?: string;
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
  };
}

/** Each role a ServiceAccount names must be ours and trust exactly that ServiceAccount. */
function checkServiceAccounts(objects: readonly KubeObject[], roles: WorkloadRoles): void {
  const problems: string[] = [];
  for (const sa of objects.filter((o) => o.kind === 'ServiceAccount') as Annotated[]) {
    const arn = sa.metadata.annotations?.[ROLE_ANNOTATION];
    if (!arn) continue;
    const where = `${sa.metadata.namespace}/${sa.metadata.name}`;
    const identity = roles.identityFor(arn);
    if (!identity) problems.push(`${where} names role ${arn}, which this stack does not create`);
    else if (identity.namespace !== sa.metadata.namespace || identity.serviceAccount !== sa.metadata.name)
      problems.push(
        `${where} names the role of ${identity.namespace}/${identity.serviceAccount}; fix workloadIdentities()`,
      );
  }
  if (problems.length > 0)
    throw new Error(`EnvironmentStack: ServiceAccount roles do not match:\n  - ${problems.join('\n  - ')}`);
}

/** The role of the ServiceAccount that pods with these labels run as. */
function roleOfPods(
  objects: readonly KubeObject[],
  roles: WorkloadRoles,
  labels: Record<string, string>,
): iam.Role {
  const spec = (o: KubeObject) =>
    (
      o as {
        spec?: {
          template?: {
            metadata?: { labels?: Record<string, string> };
            spec?: { serviceAccountName?: string };
          };
        };
      }
    ).spec?.template;
  const workload = objects.find(
    (o) =>
      o.kind === 'Deployment' &&
      Object.entries(labels).every(([k, v]) => spec(o)?.metadata?.labels?.[k] === v),
  );
  const saName = workload ? spec(workload)?.spec?.serviceAccountName : undefined;
  const sa = objects.find(
    (o) =>
      o.kind === 'ServiceAccount' &&
      o.metadata.name === saName &&
      o.metadata.namespace === workload?.metadata.namespace,
  );
  const arn = sa?.metadata.annotations?.[ROLE_ANNOTATION];
  const identity = arn ? roles.identityFor(arn) : undefined;
  if (!identity)
    throw new Error(
      `EnvironmentStack: no IRSA role for the pods labelled ${JSON.stringify(labels)}; annotate their ServiceAccount`,
    );
  return roles.role(identity.key);
}

/** App Mesh: each Envoy may read the configuration of its own virtual node or gateway, nothing else. */
function grantMeshAccess(objects: readonly KubeObject[], roles: WorkloadRoles, stack: Stack): void {
  const mesh = objects.find((o) => o.kind === 'Mesh');
  if (!mesh) return;
  const meshName = (mesh as { spec?: { awsName?: string } }).spec?.awsName ?? mesh.metadata.name!;
  for (const o of objects.filter((x) => x.kind === 'VirtualNode' || x.kind === 'VirtualGateway')) {
    const spec = (
      o as { spec?: { awsName?: string; podSelector?: { matchLabels?: Record<string, string> } } }
    ).spec;
    const awsName = spec?.awsName ?? `${o.metadata.name}_${o.metadata.namespace}`;
    const type = o.kind === 'VirtualNode' ? 'virtualNode' : 'virtualGateway';
    roleOfPods(objects, roles, spec?.podSelector?.matchLabels ?? {}).addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `EnvoyConfig${o.kind}`,
        actions: ['appmesh:StreamAggregatedResources'],
        resources: [
          stack.formatArn({
            service: 'appmesh',
            resource: 'mesh',
            resourceName: `${meshName}/${type}/${awsName}`,
          }),
        ],
      }),
    );
  }
}

/** Lattice: each caller an IAMAuthPolicy names may invoke Lattice services; the auth policies pick which. */
function grantLatticeInvoke(objects: readonly KubeObject[], roles: WorkloadRoles, stack: Stack): void {
  const callers = new Set<string>();
  for (const o of objects.filter((x) => x.kind === 'IAMAuthPolicy')) {
    const policy = JSON.parse((o as unknown as { spec: { policy: string } }).spec.policy) as {
      Statement: { Principal?: { AWS?: string | string[] } }[];
    };
    for (const st of policy.Statement)
      for (const arn of [st.Principal?.AWS ?? []].flat()) {
        const identity = roles.identityFor(arn);
        if (!identity)
          throw new Error(
            `EnvironmentStack: IAMAuthPolicy ${o.metadata.name} names ${arn}, not a role of this stack`,
          );
        callers.add(identity.key);
      }
  }
  for (const key of [...callers].sort()) {
    const role = roles.role(key);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeLatticeServices',
        actions: ['vpc-lattice-svcs:Invoke'],
        resources: [stack.formatArn({ service: 'vpc-lattice', resource: 'service', resourceName: '*' })],
      }),
    );
    acknowledge(role, {
      [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:vpc-lattice:${stack.region}:${stack.account}:service/*]`]:
        "Lattice service ids are generated by the controller; each service's IAMAuthPolicy admits exactly its callers.",
    });
  }
}

/** Fluentd and the ADOT collector get the policies in observability/ (the documented ones), placeholders filled. */
function grantObservability(
  roles: WorkloadRoles,
  stack: Stack,
  clusterName: string,
  retention: logs.RetentionDays,
): void {
  const logGroup = new logs.LogGroup(stack, 'ContainerLogs', {
    logGroupName: `/aws/eks/${clusterName}/meshmart`,
    retention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const policy = (file: string): iam.PolicyDocument => {
    const text = readFileSync(new URL(`../../../observability/${file}`, import.meta.url), 'utf8')
      .replaceAll('<region>', stack.region)
      .replaceAll('<account-id>', stack.account)
      .replaceAll('<cluster>', clusterName);
    return iam.PolicyDocument.fromJson(JSON.parse(text));
  };
  const fluentd = new iam.Policy(stack, 'FluentdPolicy', {
    document: policy('fluentd/iam-policy.json'),
    roles: [roles.role('fluentd')],
  });
  fluentd.node.addDependency(logGroup);
  acknowledge(fluentd, {
    [`AwsSolutions-IAM5[Resource::arn:aws:logs:${stack.region}:${stack.account}:log-group:/aws/eks/${clusterName}/meshmart:log-stream:*]`]:
      "Fluentd creates one log stream per pod in the cluster's one log group; the streams' names are not known before.",
    'AwsSolutions-IAM5[Resource::*]':
      'logs:DescribeLogGroups has no resource-level permission; Fluentd uses it to find its group, and nothing else is on *.',
  });
  const adot = new iam.Policy(stack, 'AdotCollectorPolicy', {
    document: policy('otel/iam-policy.json'),
    roles: [roles.role('adot-collector')],
  });
  acknowledge(adot, {
    'AwsSolutions-IAM5[Resource::*]':
      'X-Ray trace and sampling actions have no resource-level permissions (the X-Ray daemon policy is on * as well).',
  });
}

/** The repositories of the images the manifests pull from this account's registry. */
export function ecrRepositories(objects: readonly KubeObject[], registry: string): string[] {
  const images = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string' && x.startsWith(`${registry}/`)) images.add(x);
        else visit(x);
      }
  };
  objects.forEach(visit);
  return [...new Set([...images].map((i) => i.slice(registry.length + 1).replace(/[:@].*$/, '')))].sort();
}
