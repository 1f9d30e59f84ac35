import { readFileSync } from 'node:fs';
import { SERVICE_NAMES, type ServiceName } from '@meshmart/catalogue';
import {
  APP_NAMESPACE,
  CA_BUNDLE_CONFIGMAP,
  DATA_NAMESPACE,
  DATASTORES_SECRET,
  GATEWAY_SECRET,
  INTERNAL_SECRET,
  MONITORING_NAMESPACE,
  OTEL_NAMESPACE,
  OTEL_SERVICE,
} from '@meshmart/mesh/names.ts';

/** One canary: a second Deployment `<service>-<version>` receiving `weight` percent of the traffic. */
export interface CanaryConfig {
  readonly service: ServiceName;
  readonly version: string;
  readonly weight: number;
}

/** Workloads other than the catalogue's services that may carry an IRSA role of their own. */
export type PlatformWorkload = 'fluentd' | 'adot-collector' | 'meshmart-ingress';

/** AWS settings of the EKS profiles. Nothing here calls AWS: synthesis is offline. */
export interface AwsConfig {
  readonly accountId: string;
  readonly region: string;
  /** ECR registry host. @default `<accountId>.dkr.ecr.<region>.amazonaws.com` */
  readonly ecrRegistry?: string;
  /**
   * IRSA role per service, and for Fluentd and the ADOT collector. The App Mesh ingress gateway's Envoy gets a role
   * only when this names one for `meshmart-ingress`. @default `arn:aws:iam::<accountId>:role/<rolePrefix><service>`
   */
  readonly roleArns?: Partial<Record<ServiceName | PlatformWorkload, string>>;
  readonly rolePrefix: string;
  /** CIDR of the VPC where DocumentDB and ElastiCache live (NetworkPolicy egress). */
  readonly vpcCidr: string;
  /** EKS cluster name, in Fluentd's log group `/aws/eks/<clusterName>/meshmart`. @default 'meshmart' */
  readonly clusterName?: string;
}

/** Amazon DocumentDB and ElastiCache endpoints (EKS). Credentials come from a Secret, never from here. */
export interface ManagedDatastoresConfig {
  /** DocumentDB cluster endpoint host. */
  readonly documentDbHost: string;
  readonly documentDbPort: number;
  /** Query options appended to the MongoDB URL; TLS stays on. */
  readonly documentDbOptions: string;
  /** ElastiCache (Redis OSS / Valkey) primary or configuration endpoint host; always `rediss://`. */
  readonly elastiCacheHost: string;
  readonly elastiCachePort: number;
  /** Secret (created by the user or External Secrets) holding the datastore credentials. */
  readonly secretName: string;
  /** ConfigMap with the Amazon RDS CA bundle (`global-bundle.pem`), mounted at /etc/meshmart/tls. */
  readonly caBundleConfigMap: string;
}

/** App Mesh profiles (eks-appmesh, migration): how Envoy finds each VirtualNode's endpoints. */
export interface AppMeshConfig {
  /** `dns`: the cluster DNS name of each version's Service; `cloudMap`: AWS Cloud Map (`cloudMapNamespace`). */
  readonly discovery: 'dns' | 'cloudMap';
  /** An existing Cloud Map namespace (HTTP or private DNS) the App Mesh controller registers pods in. */
  readonly cloudMapNamespace?: string;
}

export interface ObservabilityConfig {
  /** Namespace of the Prometheus that scrapes /metrics. */
  readonly metricsNamespace: string;
  /** Namespace and Service of the OpenTelemetry collector (OTLP/HTTP). */
  readonly otelNamespace: string;
  readonly otelService: string;
  readonly otelPort: number;
}

/**
 * Where images come from, for clusters that cannot pull from the public registries (air-gapped, or a private registry
 * mirroring them). Applied to every container of every profile (cdk8s/images.ts); nothing changes when unset.
 */
export interface ImagesConfig {
  /**
   * Registry (and path) that replaces the registry of every image: with `registry.example.com/mirror`, `redis:7.2.5`
   * becomes `registry.example.com/mirror/redis:7.2.5` and `public.ecr.aws/appmesh/envoy:v1` becomes
   * `registry.example.com/mirror/appmesh/envoy:v1`.
   * @default none: each image as the profile names it
   */
  readonly registry?: string;
  /**
   * Image -> replacement, keyed by the image exactly as the profile names it (`mongo:7.0.14`); the replacement is used
   * as it is (the registry prefix does not apply to it) and must be pinned by a tag or a digest.
   * @default {}
   */
  readonly overrides?: Readonly<Record<string, string>>;
}

/** Everything a profile needs to synthesize; typed, with defaults, overridable by a JSON file and env. */
export interface MeshmartConfig {
  /** Image tag and `app.kubernetes.io/version` of the stable Deployments' image. @default root package.json version */
  readonly imageTag: string;
  readonly namespace: string;
  readonly dataNamespace: string;
  /** Replicas of each stable Deployment (HPA minimum). @default 2 */
  readonly replicas: number;
  /** HPA maximum. @default 6 */
  readonly maxReplicas: number;
  readonly canaries: readonly CanaryConfig[];
  readonly aws: AwsConfig;
  readonly managedDatastores: ManagedDatastoresConfig;
  readonly observability: ObservabilityConfig;
  /**
   * Custom domain of the Lattice services (`<service>.<domain>`, port 80): callers dial it, so it needs DNS records
   * (a Route 53 private hosted zone, e.g. through ExternalDNS) pointing at each service's generated Lattice name.
   */
  readonly latticeDomain: string;
  /** Secret holding the gateway's JWT signing key (key `jwt-signing-key`). */
  readonly gatewaySecretName: string;
  /**
   * Secret holding the credential of the services' internal admin routes (key `admin-token`, ADMIN_TOKEN), read by
   * the services that serve or call them. Optional in the pods: without it those routes are off (403).
   */
  readonly internalSecretName: string;
  /** Registry prefix and per-image overrides. @default none */
  readonly images?: ImagesConfig;
  /** Service discovery of the App Mesh VirtualNodes. @default { discovery: 'dns' } */
  readonly appMesh?: AppMeshConfig;
}

/** Deep-partial overrides as read from JSON. */
export type ConfigOverrides = {
  readonly [K in keyof MeshmartConfig]?: MeshmartConfig[K] extends readonly unknown[]
    ? MeshmartConfig[K]
    : MeshmartConfig[K] extends object
      ? Partial<MeshmartConfig[K]>
      : MeshmartConfig[K];
};

function rootVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function defaultConfig(): MeshmartConfig {
  return {
    imageTag: rootVersion(),
    namespace: APP_NAMESPACE,
    dataNamespace: DATA_NAMESPACE,
    replicas: 2,
    maxReplicas: 6,
    canaries: [],
    aws: { accountId: '111122223333', region: 'eu-west-1', rolePrefix: 'meshmart-', vpcCidr: '10.0.0.0/16' },
    managedDatastores: {
      documentDbHost: 'meshmart.cluster-example.eu-west-1.docdb.amazonaws.com',
      documentDbPort: 27017,
      documentDbOptions:
        'tls=true&tlsCAFile=/etc/meshmart/tls/global-bundle.pem&replicaSet=rs0&readPreference=secondaryPreferred&retryWrites=false',
      elastiCacheHost: 'master.meshmart.example.euw1.cache.amazonaws.com',
      elastiCachePort: 6379,
      secretName: DATASTORES_SECRET,
      caBundleConfigMap: CA_BUNDLE_CONFIGMAP,
    },
    observability: {
      metricsNamespace: MONITORING_NAMESPACE,
      otelNamespace: OTEL_NAMESPACE,
      otelService: OTEL_SERVICE,
      otelPort: 4318,
    },
    latticeDomain: 'meshmart.internal',
    gatewaySecretName: GATEWAY_SECRET,
    internalSecretName: INTERNAL_SECRET,
  };
}

/** Merges overrides one level deep (objects) and replaces arrays and scalars. */
export function mergeConfig(base: MeshmartConfig, overrides: ConfigOverrides): MeshmartConfig {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = (base as unknown as Record<string, unknown>)[key];
    out[key] =
      current && typeof current === 'object' && !Array.isArray(current) && typeof value === 'object'
        ? { ...current, ...(value as object) }
        : value;
  }
  const merged = out as unknown as MeshmartConfig;
  checkConfig(merged);
  return merged;
}

/** Fails with every problem at once, naming the setting to fix. */
export function checkConfig(config: MeshmartConfig): void {
  const problems: string[] = [];
  if (!Number.isInteger(config.replicas) || config.replicas < 1)
    problems.push(`replicas must be an integer >= 1 (got ${config.replicas})`);
  if (config.maxReplicas < config.replicas)
    problems.push(`maxReplicas (${config.maxReplicas}) must be >= replicas (${config.replicas})`);
  if (!/^\d{12}$/.test(config.aws.accountId))
    problems.push(`aws.accountId must be 12 digits (got '${config.aws.accountId}')`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(config.aws.region))
    problems.push(`aws.region must look like eu-west-1 (got '${config.aws.region}')`);
  if (config.imageTag === 'latest' || config.imageTag === '')
    problems.push(`imageTag must be a pinned version, never '${config.imageTag}'`);
  for (const canary of config.canaries) {
    if (!(SERVICE_NAMES as readonly string[]).includes(canary.service))
      problems.push(`canaries: no service named '${canary.service}' in the catalogue`);
    if (!(canary.weight >= 0 && canary.weight <= 100))
      problems.push(`canaries: ${canary.service} weight must be 0..100 (got ${canary.weight})`);
  }
  problems.push(...imagesProblems(config.images));
  const appMesh = config.appMesh;
  if (appMesh && appMesh.discovery !== 'dns' && appMesh.discovery !== 'cloudMap')
    problems.push(`appMesh.discovery must be 'dns' or 'cloudMap' (got '${String(appMesh.discovery)}')`);
  if (appMesh?.discovery === 'cloudMap' && !appMesh.cloudMapNamespace)
    problems.push(
      "appMesh.cloudMapNamespace is required with appMesh.discovery 'cloudMap': name the Cloud Map namespace the App Mesh controller registers pods in, e.g. 'meshmart.local'",
    );
  if (problems.length > 0) throw new Error(`meshmart config:\n  - ${problems.join('\n  - ')}`);
}

function imagesProblems(images: ImagesConfig | undefined): string[] {
  if (!images) return [];
  const problems: string[] = [];
  const registry = images.registry;
  if (registry !== undefined && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*$/.test(registry))
    problems.push(
      `images.registry must be a registry host with an optional port and path, without scheme or trailing slash (got '${registry}')`,
    );
  for (const [from, to] of Object.entries(images.overrides ?? {})) {
    const name = to.includes('@') ? to.slice(0, to.indexOf('@')) : to;
    const tag = name.lastIndexOf(':') > name.lastIndexOf('/') ? name.slice(name.lastIndexOf(':') + 1) : '';
    if (!to.includes('@sha256:') && (tag === '' || tag === 'latest'))
      problems.push(
        `images.overrides: '${from}' -> '${to}' must be pinned by a tag or a digest, never latest`,
      );
  }
  return problems;
}

/**
 * Defaults, then the JSON file named by `MESHMART_K8S_CONFIG` (or `file`), then single env overrides:
 * MESHMART_IMAGE_TAG, MESHMART_AWS_ACCOUNT_ID, MESHMART_AWS_REGION, MESHMART_ECR_REGISTRY, MESHMART_DOCDB_HOST,
 * MESHMART_ELASTICACHE_HOST, MESHMART_IMAGE_REGISTRY (images.registry).
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  file = env.MESHMART_K8S_CONFIG,
): MeshmartConfig {
  let config = defaultConfig();
  if (file) config = mergeConfig(config, JSON.parse(readFileSync(file, 'utf8')) as ConfigOverrides);
  const aws: Partial<AwsConfig> = {
    ...(env.MESHMART_AWS_ACCOUNT_ID ? { accountId: env.MESHMART_AWS_ACCOUNT_ID } : {}),
    ...(env.MESHMART_AWS_REGION ? { region: env.MESHMART_AWS_REGION } : {}),
    ...(env.MESHMART_ECR_REGISTRY ? { ecrRegistry: env.MESHMART_ECR_REGISTRY } : {}),
  };
  const managedDatastores: Partial<ManagedDatastoresConfig> = {
    ...(env.MESHMART_DOCDB_HOST ? { documentDbHost: env.MESHMART_DOCDB_HOST } : {}),
    ...(env.MESHMART_ELASTICACHE_HOST ? { elastiCacheHost: env.MESHMART_ELASTICACHE_HOST } : {}),
  };
  return mergeConfig(config, {
    ...(env.MESHMART_IMAGE_TAG ? { imageTag: env.MESHMART_IMAGE_TAG } : {}),
    ...(env.MESHMART_IMAGE_REGISTRY ? { images: { registry: env.MESHMART_IMAGE_REGISTRY } } : {}),
    aws,
    managedDatastores,
  });
}

/**
 * A default that is only an example: synthesized into an EKS profile it points at nobody's account or datastore.
 * `make synth` refuses to write a profile that still holds one (unless asked for examples), and `make deploy`
 * refuses to apply one.
 */
export interface ExampleValue {
  /** The key in the JSON config file, e.g. `aws.accountId`. */
  readonly setting: string;
  /** The environment variable that sets it. */
  readonly env: string;
  readonly value: string;
}

export function exampleValues(): readonly ExampleValue[] {
  const d = defaultConfig();
  const m = d.managedDatastores;
  return [
    { setting: 'aws.accountId', env: 'MESHMART_AWS_ACCOUNT_ID', value: d.aws.accountId },
    { setting: 'managedDatastores.documentDbHost', env: 'MESHMART_DOCDB_HOST', value: m.documentDbHost },
    {
      setting: 'managedDatastores.elastiCacheHost',
      env: 'MESHMART_ELASTICACHE_HOST',
      value: m.elastiCacheHost,
    },
  ];
}

/** The example values found in synthesized objects: exactly the settings a profile uses and the user left unset. */
export function exampleValuesIn(objects: readonly unknown[]): ExampleValue[] {
  const text = JSON.stringify(objects);
  return exampleValues().filter((e) => text.includes(e.value));
}

/** What to set, one line per value, for a message that starts with what was refused. */
export function exampleValuesAdvice(found: readonly ExampleValue[]): string {
  const d = defaultConfig();
  const width = Math.max(...found.map((e) => e.setting.length));
  const envWidth = Math.max(...found.map((e) => e.env.length));
  return [
    ...found.map(
      (e) => `  - ${e.setting.padEnd(width)}  ${e.env.padEnd(envWidth)}  (still the example '${e.value}')`,
    ),
    'as environment variables, or as keys of a JSON file given with --config (or MESHMART_K8S_CONFIG);',
    `check aws.region and aws.vpcCidr too (${d.aws.region} and ${d.aws.vpcCidr} unless set). docs/deploy.md shows both ways.`,
  ].join('\n');
}

export function ecrRegistry(config: MeshmartConfig): string {
  return config.aws.ecrRegistry ?? `${config.aws.accountId}.dkr.ecr.${config.aws.region}.amazonaws.com`;
}

export function roleArn(config: MeshmartConfig, service: string): string {
  return (
    config.aws.roleArns?.[service as ServiceName | PlatformWorkload] ??
    `arn:aws:iam::${config.aws.accountId}:role/${config.aws.rolePrefix}${service}`
  );
}
