import { App, Chart } from 'cdk8s';
import { catalogue, type ServiceEntry } from '@meshmart/catalogue';
import { clientPolicyEnv } from '@meshmart/mesh/client-policy.ts';
import { servicePolicy, trafficModel, type TrafficModel } from '@meshmart/mesh/model.ts';
import { renderNetworkPolicies, usesRedis, type MeshKind } from '@meshmart/mesh/render/network-policies.ts';
import { ecrRegistry, roleArn, type MeshmartConfig } from '../config.ts';
import { mongoDb, redis } from '../constructs/datastore.ts';
import { IMAGE_REPOSITORY, NAME_LABEL } from '@meshmart/mesh/names.ts';
import { Microservice, type ComposedEnvVar, type SecretEnvVar } from '../constructs/microservice.ts';
import { MeshmartNamespace, type PodSecurityExceptionName } from '../constructs/namespace.ts';

export type Platform = 'kind' | 'eks';

/** One synthesized profile: its charts (one YAML file each, applied in name order) and Markdown reports. */
export interface Profile {
  readonly name: string;
  readonly app: App;
  readonly charts: readonly Chart[];
  readonly model: TrafficModel;
  /** File name -> Markdown, written beside the YAML. */
  readonly reports: Readonly<Record<string, string>>;
  /** How callers reach services: pod to pod (plain Services, App Mesh) or through VPC Lattice. */
  /** How callers reach a service: pod to pod (none, App Mesh), through Lattice, or both (the migration). */
  readonly callersVia: 'pods' | 'lattice' | 'both';
}

export interface ComposeOptions {
  readonly name: string;
  readonly platform: Platform;
  readonly config: MeshmartConfig;
  /** Labels the mesh needs on the app namespace (sidecar injection, readiness gates). @default {} */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Why the app namespace may enforce less than Pod Security "restricted" (cdk8s/constructs/namespace.ts). @default none */
  readonly podSecurityException?: PodSecurityExceptionName;
  /** Envoy retries, so the kit's client makes one attempt per call. @default false */
  readonly meshRetries?: boolean;
  /** Callers sign their calls with SigV4 for Lattice's IAMAuthPolicy, in this region. @default no signing */
  readonly sigv4Region?: string;
  /** Which data plane carries service-to-service calls (shapes the NetworkPolicies). @default 'none' */
  readonly mesh?: MeshKind;
  /** Where callers reach each upstream. @default the Service's cluster DNS name and port */
  readonly upstreamUrl?: (entry: ServiceEntry) => string;
}

/** What every profile shares: namespaces, datastores (kind), one Microservice per catalogue entry, NetworkPolicies. */
export interface Composed {
  readonly app: App;
  readonly model: TrafficModel;
  readonly charts: Chart[];
  readonly services: readonly Microservice[];
  /** Chart for the profile's traffic objects (mesh / Gateway API), created by the caller. */
  chart(name: string): Chart;
}

/** Charts are named `<order>-<what>` so `kubectl apply -f dist/<profile>/` applies them in dependency order. */
export function compose(options: ComposeOptions): Composed {
  const { config, platform } = options;
  const app = new App({ outdir: 'dist' });
  const charts: Chart[] = [];
  const chart = (name: string): Chart => {
    const c = new Chart(app, name, { disableResourceNameHashes: true });
    charts.push(c);
    return c;
  };
  const model = trafficModel({
    namespace: config.namespace,
    canaries: config.canaries.map((c) => ({ service: c.service, version: c.version, weight: c.weight })),
  });

  const namespaces = chart('00-namespaces');
  const appNs = new MeshmartNamespace(namespaces, 'App', {
    name: config.namespace,
    ...(options.podSecurityException ? { exception: options.podSecurityException } : {}),
    labels: options.namespaceLabels ?? {},
  });
  let dataHosts: { mongo: string; redis: string } | undefined;
  if (platform === 'kind') {
    const dataNs = new MeshmartNamespace(namespaces, 'Data', { name: config.dataNamespace });
    const data = chart('10-datastores');
    const mongo = mongoDb(data, dataNs.name);
    const cache = redis(data, dataNs.name);
    dataHosts = { mongo: `${mongo.host}:${mongo.port}`, redis: `${cache.host}:${cache.port}` };
  }

  const workloads = chart('20-services');
  const image =
    platform === 'kind'
      ? `${IMAGE_REPOSITORY}:${config.imageTag}`
      : `${ecrRegistry(config)}/${IMAGE_REPOSITORY}:${config.imageTag}`;
  const services = catalogue.map((entry) => {
    const stores = storeEnv(entry, platform, config, dataHosts);
    const [stable, ...canaries] = servicePolicy(model, entry.name).versions;
    return new Microservice(workloads, entry.name, {
      entry,
      namespace: appNs.name,
      image,
      stableVersion: stable.version,
      canaries: canaries.map((c) => ({ version: c.version })),
      replicas: config.replicas,
      maxReplicas: config.maxReplicas,
      ...(options.upstreamUrl ? { upstreamUrl: options.upstreamUrl } : {}),
      settings: {
        LOG_LEVEL: 'info',
        TRACING: platform === 'eks' ? 'xray' : 'w3c',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otelEndpoint(config),
        ...stores.settings,
        ...clientPolicyEnv(model, entry.name, {
          meshRetries: options.meshRetries ?? false,
          ...(options.sigv4Region ? { sigv4: { region: options.sigv4Region } } : {}),
        }),
      },
      secretEnv: [...stores.secretEnv, ...gatewaySecrets(entry, config), ...adminSecrets(entry, config)],
      composedEnv: stores.composedEnv,
      ...(platform === 'eks' ? { roleArn: roleArn(config, entry.name) } : {}),
      ...(platform === 'eks' && entry.datastores.includes('mongodb')
        ? { caBundleConfigMap: config.managedDatastores.caBundleConfigMap }
        : {}),
    });
  });

  renderNetworkPolicies(chart('30-network-policies'), model, {
    namespace: appNs.name,
    ...(platform === 'kind'
      ? {
          datastores: {
            namespace: config.dataNamespace,
            mongodb: { [NAME_LABEL]: 'mongodb' },
            redis: { [NAME_LABEL]: 'redis' },
            mongodbPort: 27017,
            redisPort: 6379,
          },
        }
      : {
          externalDatastores: {
            cidr: config.aws.vpcCidr,
            mongodbPort: config.managedDatastores.documentDbPort,
            redisPort: config.managedDatastores.elastiCachePort,
          },
        }),
    metricsNamespace: config.observability.metricsNamespace,
    otel: { namespace: config.observability.otelNamespace, port: config.observability.otelPort },
    mesh: options.mesh ?? 'none',
    signingCallers: options.sigv4Region !== undefined,
  });

  return { app, model, charts, services, chart };
}

export function otelEndpoint(config: MeshmartConfig): string {
  const o = config.observability;
  return `http://${o.otelService}.${o.otelNamespace}.svc.cluster.local:${o.otelPort}/v1/traces`;
}

interface StoreEnv {
  readonly settings: Record<string, string>;
  readonly secretEnv: SecretEnvVar[];
  readonly composedEnv: ComposedEnvVar[];
}

/**
 * kind: the in-cluster stores have no password, so their URLs sit in the ConfigMap. EKS: user and password come
 * from a Secret (created by hand or by External Secrets) and the URL is composed with `$(VAR)`, TLS on.
 */
function storeEnv(
  entry: ServiceEntry,
  platform: Platform,
  config: MeshmartConfig,
  dataHosts: { mongo: string; redis: string } | undefined,
): StoreEnv {
  const mongo = entry.datastores.includes('mongodb');
  const cache = usesRedis(entry);
  const out: StoreEnv = { settings: {}, secretEnv: [], composedEnv: [] };
  if (mongo) out.settings.MONGO_DATABASE = `meshmart_${entry.name}`;
  if (platform === 'kind' && dataHosts) {
    if (mongo) out.settings.MONGO_URL = `mongodb://${dataHosts.mongo}/?directConnection=true`;
    if (cache) out.settings.REDIS_URL = `redis://${dataHosts.redis}`;
    return out;
  }
  const m = config.managedDatastores;
  const secret = (env: string, key: string): SecretEnvVar => ({ env, secretName: m.secretName, key });
  if (mongo) {
    out.secretEnv.push(
      secret('MONGO_USERNAME', 'mongo-username'),
      secret('MONGO_PASSWORD', 'mongo-password'),
    );
    out.composedEnv.push({
      env: 'MONGO_URL',
      value: `mongodb://$(MONGO_USERNAME):$(MONGO_PASSWORD)@${m.documentDbHost}:${m.documentDbPort}/?${m.documentDbOptions}`,
    });
  }
  if (cache) {
    out.secretEnv.push(
      secret('REDIS_USERNAME', 'redis-username'),
      secret('REDIS_PASSWORD', 'redis-password'),
    );
    out.composedEnv.push({
      env: 'REDIS_URL',
      value: `rediss://$(REDIS_USERNAME):$(REDIS_PASSWORD)@${m.elastiCacheHost}:${m.elastiCachePort}`,
    });
  }
  return out;
}

/**
 * The internal admin routes' credential, for the services that serve or call them only. Optional: a cluster without
 * the Secret runs with those routes off (403 admin-disabled) rather than with pods that cannot start.
 */
function adminSecrets(entry: ServiceEntry, config: MeshmartConfig): SecretEnvVar[] {
  return entry.admin
    ? [{ env: 'ADMIN_TOKEN', secretName: config.internalSecretName, key: 'admin-token', optional: true }]
    : [];
}

/** The gateway signs tokens with a key from a Secret; every other service has none. */
function gatewaySecrets(entry: ServiceEntry, config: MeshmartConfig): SecretEnvVar[] {
  return entry.public
    ? [{ env: 'JWT_SIGNING_KEY', secretName: config.gatewaySecretName, key: 'jwt-signing-key' }]
    : [];
}
