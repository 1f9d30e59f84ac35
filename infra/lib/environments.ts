import type { ProfileName } from '@meshmart/cdk8s/profiles/index.ts';

/** The EKS profiles an environment can deploy (kind runs on a laptop, not on AWS). */
export type EksProfileName = Exclude<ProfileName, 'kind'>;
export const EKS_PROFILES: readonly EksProfileName[] = ['eks-appmesh', 'eks-lattice', 'migration'];
/** The profiles with App Mesh VirtualNodes, whose discovery can be AWS Cloud Map. */
export const APP_MESH_PROFILES: readonly EksProfileName[] = ['eks-appmesh', 'migration'];

/**
 * App Mesh discovery through AWS Cloud Map (the cdk8s config's `appMesh.discovery = 'cloudMap'`): the stack creates
 * the namespace and lets the App Mesh controller register pods in it. `dns-private` also creates a Route 53 private
 * hosted zone with an A record per pod (about $0.50 a month per zone); `http` is discovered through the Cloud Map API
 * only, which is all App Mesh uses.
 */
export interface CloudMapDiscovery {
  /** The namespace's name, e.g. `meshmart.local`; each VirtualNode names it. */
  readonly namespace: string;
  readonly namespaceType: 'dns-private' | 'http';
}

/** One AWS environment: one stack, one VPC, one EKS cluster, its datastores and the app. */
export interface EnvironmentSpec {
  /** Stack `MeshMart-<name>`, cluster `meshmart-<name>`, IAM roles `meshmart-<name>-<workload>`. */
  readonly name: string;
  /** The cdk8s profile applied to the cluster: App Mesh, Lattice, or both during a migration. */
  readonly profile: EksProfileName;
  readonly account: string;
  readonly region: string;
  /** Fixed here so synthesis never looks them up (no AWS account needed). */
  readonly availabilityZones: readonly string[];
  readonly vpcCidr: string;
  /** 1 saves ~$32/month per gateway avoided; one per AZ survives the loss of an AZ. */
  readonly natGateways: number;
  /** ECR, STS and CloudWatch Logs interface endpoints; worth it only above ~420 GB/month through NAT (docs). */
  readonly interfaceEndpoints: boolean;
  readonly nodes: {
    readonly instanceType: string;
    readonly min: number;
    readonly desired: number;
    readonly max: number;
  };
  readonly documentDb: { readonly instanceType: string; readonly instances: number };
  readonly cache: { readonly nodeType: string; readonly replicas: number };
  /** Stable replicas per service (HPA minimum) and HPA maximum, passed to the cdk8s profile. */
  readonly app: { readonly replicas: number; readonly maxReplicas: number };
  readonly logRetentionDays: number;
  /** Deletion protection and retained data (final snapshots, ECR images). */
  readonly production: boolean;
  /** App Mesh profiles only. @default none: DNS discovery (each version's cluster Service name), nothing created */
  readonly cloudMap?: CloudMapDiscovery;
}

/** Placeholder account: synthesis works offline with it; deploying needs `-c account=<yours>`. */
export const EXAMPLE_ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const azs = (region: string, n: number): string[] => ['a', 'b', 'c'].slice(0, n).map((z) => `${region}${z}`);

const small = {
  natGateways: 1,
  interfaceEndpoints: false,
  nodes: { instanceType: 't3.large', min: 2, desired: 3, max: 4 },
  documentDb: { instanceType: 'db.t4g.medium', instances: 1 },
  cache: { nodeType: 'cache.t4g.micro', replicas: 0 },
  app: { replicas: 1, maxReplicas: 3 },
  logRetentionDays: 14,
  production: false,
} as const;

/** The environments `cdk synth` builds; `-c env=<name>` picks one, `-c account=` / `-c region=` retarget it. */
export const ENVIRONMENTS: readonly EnvironmentSpec[] = [
  {
    name: 'dev',
    profile: 'eks-lattice',
    account: EXAMPLE_ACCOUNT,
    region: REGION,
    availabilityZones: azs(REGION, 2),
    vpcCidr: '10.20.0.0/16',
    ...small,
  },
  {
    name: 'prod',
    profile: 'eks-lattice',
    account: EXAMPLE_ACCOUNT,
    region: REGION,
    availabilityZones: azs(REGION, 3),
    vpcCidr: '10.30.0.0/16',
    natGateways: 3,
    interfaceEndpoints: true,
    nodes: { instanceType: 'm7i.large', min: 3, desired: 4, max: 9 },
    documentDb: { instanceType: 'db.r6g.large', instances: 3 },
    cache: { nodeType: 'cache.r7g.large', replicas: 1 },
    app: { replicas: 2, maxReplicas: 6 },
    logRetentionDays: 90,
    production: true,
  },
  {
    // For clusters still on App Mesh until they move (the migration profile shows how).
    name: 'appmesh',
    profile: 'eks-appmesh',
    account: EXAMPLE_ACCOUNT,
    region: REGION,
    availabilityZones: azs(REGION, 2),
    vpcCidr: '10.40.0.0/16',
    ...small,
  },
  {
    name: 'migration',
    profile: 'migration',
    account: EXAMPLE_ACCOUNT,
    region: REGION,
    availabilityZones: azs(REGION, 2),
    vpcCidr: '10.50.0.0/16',
    ...small,
  },
  {
    // App Mesh with AWS Cloud Map discovery instead of DNS: the namespace and the controller's rights come with it.
    name: 'cloudmap',
    profile: 'eks-appmesh',
    account: EXAMPLE_ACCOUNT,
    region: REGION,
    availabilityZones: azs(REGION, 2),
    vpcCidr: '10.60.0.0/16',
    ...small,
    cloudMap: { namespace: 'meshmart.local', namespaceType: 'dns-private' },
  },
];

/** CDK context keys the app reads (`cdk synth -c env=dev -c account=123456789012`). */
export interface EnvironmentContext {
  readonly env?: string;
  readonly account?: string;
  readonly region?: string;
}

/** The environments to build: all of them, or the one `env` names, retargeted by `account` and `region`. */
export function selectEnvironments(context: EnvironmentContext): EnvironmentSpec[] {
  const chosen = context.env ? ENVIRONMENTS.filter((e) => e.name === context.env) : [...ENVIRONMENTS];
  if (chosen.length === 0)
    throw new Error(
      `infra: no environment '${context.env}'; use -c env=<${ENVIRONMENTS.map((e) => e.name).join('|')}> ` +
        '(or add it to infra/lib/environments.ts)',
    );
  const retargeted = chosen.map((e) => ({
    ...e,
    ...(context.account ? { account: context.account } : {}),
    ...(context.region
      ? { region: context.region, availabilityZones: azs(context.region, e.availabilityZones.length) }
      : {}),
  }));
  for (const e of retargeted) checkEnvironment(e);
  return retargeted;
}

/** Fails with every problem at once, each naming what to change. */
export function checkEnvironment(e: EnvironmentSpec): void {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]{0,14}$/.test(e.name))
    problems.push(
      `name '${e.name}' must be a lowercase DNS label of at most 15 characters (it is in role names)`,
    );
  if (!EKS_PROFILES.includes(e.profile))
    problems.push(`profile '${e.profile}' is not an EKS profile; use one of ${EKS_PROFILES.join(', ')}`);
  if (!/^\d{12}$/.test(e.account))
    problems.push(`account must be 12 digits (got '${e.account}'); pass -c account=`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(e.region))
    problems.push(`region must look like eu-west-1 (got '${e.region}'); pass -c region=`);
  if (e.availabilityZones.length < 2)
    problems.push('availabilityZones: EKS and DocumentDB need subnets in at least 2 AZs; list 2 or 3');
  if (e.natGateways < 1 || e.natGateways > e.availabilityZones.length)
    problems.push(`natGateways must be 1..${e.availabilityZones.length} (one per AZ at most)`);
  if (!(e.nodes.min <= e.nodes.desired && e.nodes.desired <= e.nodes.max && e.nodes.min >= 1))
    problems.push('nodes: need 1 <= min <= desired <= max');
  if (e.documentDb.instances < 1 || e.documentDb.instances > 16)
    problems.push('documentDb.instances must be 1..16');
  if (e.cache.replicas < 0 || e.cache.replicas > 5) problems.push('cache.replicas must be 0..5');
  if (e.production && (e.cache.replicas < 1 || e.documentDb.instances < 2))
    problems.push(
      'production environments need cache.replicas >= 1 and documentDb.instances >= 2 (Multi-AZ)',
    );
  if (e.cloudMap && !APP_MESH_PROFILES.includes(e.profile))
    problems.push(
      `cloudMap: profile '${e.profile}' has no App Mesh; use it with ${APP_MESH_PROFILES.join(' or ')}, or remove it`,
    );
  if (
    e.cloudMap &&
    !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(e.cloudMap.namespace)
  )
    problems.push(
      `cloudMap.namespace '${e.cloudMap.namespace}' must be a lowercase DNS name, e.g. meshmart.local`,
    );
  if (problems.length > 0) throw new Error(`infra environment '${e.name}':\n  - ${problems.join('\n  - ')}`);
}

/** Names derived from the environment, in one place. */
export function names(e: EnvironmentSpec): { stack: string; cluster: string; rolePrefix: string } {
  return { stack: `MeshMart-${e.name}`, cluster: `meshmart-${e.name}`, rolePrefix: `meshmart-${e.name}-` };
}
