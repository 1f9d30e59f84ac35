import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { service as catalogueEntry, type ServiceEntry } from '@meshmart/catalogue';
import {
  COMPONENT_LABEL,
  PROMETHEUS_PATH_ANNOTATION,
  PROMETHEUS_PORT_ANNOTATION,
  PROMETHEUS_SCRAPE_ANNOTATION,
  VERSION_LABEL,
  serviceSelector,
  settingsConfigMapName,
  versionSelector,
  versionedName,
} from '@meshmart/mesh/names.ts';
import { hardenedPodSpec, type ContainerResources } from './pod-spec.ts';

/** An env var read from a Secret key: the manifests carry the reference, never the value. */
export interface SecretEnvVar {
  readonly env: string;
  readonly secretName: string;
  readonly key: string;
  /** Start even when the Secret or key is missing. @default false */
  readonly optional?: boolean;
}

/** An env var composed from earlier ones with Kubernetes' `$(VAR)` expansion (e.g. a URL around secret parts). */
export interface ComposedEnvVar {
  readonly env: string;
  readonly value: string;
}

/** A canary version: a second Deployment `<service>-<version>` beside the stable one. */
export interface CanaryVersion {
  readonly version: string;
  /** @default the stable image */
  readonly image?: string;
  /** @default 1 */
  readonly replicas?: number;
}

export interface MicroserviceProps {
  /** The catalogue entry: name, port and upstreams come from it. */
  readonly entry: ServiceEntry;
  /** Namespace of every object (pass `namespace.name`). */
  readonly namespace: string;
  /** Full image reference, pinned by tag or digest. */
  readonly image: string;
  /** Version label of the stable Deployment. @default 'v1' */
  readonly stableVersion?: string;
  /** Canary Deployments with their per-version Services. @default [] */
  readonly canaries?: readonly CanaryVersion[];
  /** Replicas of the stable Deployment, and the HPA minimum. @default 2 */
  readonly replicas?: number;
  /** HPA maximum. @default 3 × replicas */
  readonly maxReplicas?: number;
  /** HPA target average CPU utilization, percent of requests. @default 70 */
  readonly targetCpuUtilization?: number;
  /** @default requests 100m / 128Mi, limits 500m / 256Mi */
  readonly resources?: ContainerResources;
  /** Settings put in the service's ConfigMap beside the upstream URLs and the kit's shutdown timings. @default {} */
  readonly settings?: Readonly<Record<string, string>>;
  /** Env vars from Secret keys. @default [] */
  readonly secretEnv?: readonly SecretEnvVar[];
  /** Env vars composed from the secret ones with `$(VAR)`. @default [] */
  readonly composedEnv?: readonly ComposedEnvVar[];
  /** IAM role for service accounts (IRSA) on EKS. @default none */
  readonly roleArn?: string;
  /** Base URL callers use for an upstream (`<NAME>_URL`). @default its Service's cluster DNS name and port */
  readonly upstreamUrl?: (upstream: ServiceEntry) => string;
  /** Wait after readiness turns false before closing the listener (SHUTDOWN_DELAY_MS). @default 5000 */
  readonly shutdownDelayMs?: number;
  /** Whole graceful-shutdown budget (SHUTDOWN_GRACE_MS). @default 20000 */
  readonly shutdownGraceMs?: number;
  /** Extra pod labels (never overriding the app.kubernetes.io ones). @default {} */
  readonly podLabels?: Readonly<Record<string, string>>;
  /** ConfigMap with CA certificates mounted read-only at /etc/meshmart/tls. @default none */
  readonly caBundleConfigMap?: string;
  /** How strictly pods spread across zones. @default 'ScheduleAnyway' */
  readonly zoneSpread?: 'ScheduleAnyway' | 'DoNotSchedule';
}

/** Cluster DNS name of a service: what `<NAME>_URL` points at. */
export function clusterUrl(entry: ServiceEntry, namespace: string): string {
  return `http://${entry.name}.${namespace}.svc.cluster.local:${entry.port}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * One catalogue service on Kubernetes: ServiceAccount, ConfigMap, a hardened Deployment per version, the stable
 * Service (every version) plus one `<service>-<version>` Service per version, an HPA and a PDB.
 */
export class Microservice extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly port: number;
  public readonly serviceAccountName: string;
  public readonly configMapName: string;
  /** Versions deployed, stable first. */
  public readonly versions: readonly string[];

  public constructor(scope: Construct, id: string, props: MicroserviceProps) {
    super(scope, id);
    const { entry, namespace } = props;
    const replicas = props.replicas ?? 2;
    const maxReplicas = props.maxReplicas ?? replicas * 3;
    const targetCpu = props.targetCpuUtilization ?? 70;
    const delayMs = props.shutdownDelayMs ?? 5000;
    const graceMs = props.shutdownGraceMs ?? 20000;
    const stable = props.stableVersion ?? 'v1';
    const canaries = props.canaries ?? [];
    checkProps(props, { replicas, maxReplicas, targetCpu, delayMs, graceMs, stable, canaries });

    this.name = entry.name;
    this.namespace = namespace;
    this.port = entry.port;
    this.serviceAccountName = entry.name;
    this.configMapName = settingsConfigMapName(entry.name);
    this.versions = [stable, ...canaries.map((c) => c.version)];
    const component = { [COMPONENT_LABEL]: 'service' };

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: {
        name: this.serviceAccountName,
        namespace,
        labels: { ...serviceSelector(entry.name), ...component },
        ...(props.roleArn ? { annotations: { 'eks.amazonaws.com/role-arn': props.roleArn } } : {}),
      },
      automountServiceAccountToken: false,
    });

    const upstreams = Object.fromEntries(
      entry.dependsOn.map((dep) => [
        `${dep.toUpperCase()}_URL`,
        (props.upstreamUrl ?? ((e: ServiceEntry) => clusterUrl(e, namespace)))(catalogueEntry(dep)),
      ]),
    );
    new k8s.KubeConfigMap(this, 'Settings', {
      metadata: {
        name: this.configMapName,
        namespace,
        labels: { ...serviceSelector(entry.name), ...component },
      },
      data: sortKeys({
        // The kit listens on 127.0.0.1 unless told otherwise; in a pod it must answer on the pod's IP.
        HOST: '0.0.0.0',
        PORT: String(entry.port),
        SHUTDOWN_DELAY_MS: String(delayMs),
        SHUTDOWN_GRACE_MS: String(graceMs),
        ...(entry.metricsPort ? { METRICS_PORT: String(entry.metricsPort) } : {}),
        ...upstreams,
        ...props.settings,
      }),
    });

    // The kit drains within delay + grace; the pod gets 5 s more before SIGKILL.
    const terminationGracePeriodSeconds = Math.ceil((delayMs + graceMs) / 1000) + 5;
    const deployments = [
      { name: entry.name, version: stable, image: props.image, replicas },
      ...canaries.map((c) => ({
        name: versionedName(entry.name, c.version),
        version: c.version,
        image: c.image ?? props.image,
        replicas: c.replicas ?? 1,
      })),
    ];
    for (const d of deployments) {
      const selector = versionSelector(entry.name, d.version);
      const labels = { ...props.podLabels, ...selector, ...component };
      new k8s.KubeDeployment(this, `Deployment-${d.version}`, {
        metadata: { name: d.name, namespace, labels: { ...selector, ...component } },
        spec: {
          replicas: d.replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: selector },
          strategy: {
            type: 'RollingUpdate',
            rollingUpdate: {
              maxSurge: k8s.IntOrString.fromString('25%'),
              maxUnavailable: k8s.IntOrString.fromNumber(0),
            },
          },
          template: {
            metadata: {
              labels,
              annotations: {
                [PROMETHEUS_SCRAPE_ANNOTATION]: 'true',
                // Where /metrics is: the scrape configs take the port from here (the gateway's is not `http`).
                [PROMETHEUS_PORT_ANNOTATION]: String(entry.metricsPort ?? entry.port),
                [PROMETHEUS_PATH_ANNOTATION]: '/metrics',
              },
            },
            spec: hardenedPodSpec({
              name: entry.name,
              image: d.image,
              command: ['node', `dist/${entry.name}.mjs`],
              port: entry.port,
              metricsPort: entry.metricsPort,
              configMapName: this.configMapName,
              serviceAccountName: this.serviceAccountName,
              secretEnv: props.secretEnv ?? [],
              composedEnv: props.composedEnv ?? [],
              resources: props.resources,
              terminationGracePeriodSeconds,
              spreadSelector: selector,
              zoneSpread: props.zoneSpread ?? 'ScheduleAnyway',
              caBundleConfigMap: props.caBundleConfigMap,
            }),
          },
        },
      });
      if (d.replicas > 1) {
        new k8s.KubePodDisruptionBudget(this, `Pdb-${d.version}`, {
          metadata: { name: d.name, namespace, labels: { ...selector, ...component } },
          spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
        });
      }
    }

    const servicePorts = [
      { name: 'http', port: entry.port, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' },
    ];
    new k8s.KubeService(this, 'Service', {
      metadata: { name: entry.name, namespace, labels: { ...serviceSelector(entry.name), ...component } },
      spec: { type: 'ClusterIP', selector: serviceSelector(entry.name), ports: servicePorts },
    });
    // One Service per version even without canaries: App Mesh discovers each VirtualNode by `<service>-<version>`.
    for (const version of this.versions) {
      new k8s.KubeService(this, `Service-${version}`, {
        metadata: {
          name: versionedName(entry.name, version),
          namespace,
          labels: { ...versionSelector(entry.name, version), ...component },
        },
        spec: { type: 'ClusterIP', selector: versionSelector(entry.name, version), ports: servicePorts },
      });
    }

    new k8s.KubeHorizontalPodAutoscalerV2(this, 'Hpa', {
      metadata: {
        name: entry.name,
        namespace,
        labels: { ...versionSelector(entry.name, stable), ...component },
      },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: entry.name },
        minReplicas: replicas,
        maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCpu } },
          },
        ],
      },
    });
  }
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkProps(
  props: MicroserviceProps,
  v: {
    replicas: number;
    maxReplicas: number;
    targetCpu: number;
    delayMs: number;
    graceMs: number;
    stable: string;
    canaries: readonly CanaryVersion[];
  },
): void {
  const who = `Microservice ${props.entry.name}`;
  if (!DNS_LABEL.test(props.entry.name))
    throw new Error(`${who}: name must be a DNS-1123 label (lowercase letters, digits, '-')`);
  if (!Number.isInteger(v.replicas) || v.replicas < 1)
    throw new Error(
      `${who}: replicas must be an integer >= 1 (got ${v.replicas}); set replicas to 1 or more`,
    );
  if (v.maxReplicas < v.replicas)
    throw new Error(
      `${who}: maxReplicas (${v.maxReplicas}) is below replicas (${v.replicas}); raise maxReplicas`,
    );
  if (!(v.targetCpu > 0 && v.targetCpu <= 100))
    throw new Error(`${who}: targetCpuUtilization must be 1..100 percent (got ${v.targetCpu})`);
  if (!Number.isInteger(props.entry.port) || props.entry.port < 1024 || props.entry.port > 65535)
    throw new Error(`${who}: port ${props.entry.port} must be 1024..65535 (the container runs as non-root)`);
  if (v.delayMs < 0 || v.graceMs <= 0)
    throw new Error(`${who}: shutdownDelayMs must be >= 0 and shutdownGraceMs > 0`);
  if (/(^|[:/])latest$/.test(props.image) || !/[:@][^/]+$/.test(props.image))
    throw new Error(`${who}: image '${props.image}' must be pinned by a version tag or digest, never latest`);
  const seen = new Set([v.stable]);
  for (const c of v.canaries) {
    if (seen.has(c.version))
      throw new Error(`${who}: version '${c.version}' appears twice; give each canary its own version`);
    if (!DNS_LABEL.test(c.version))
      throw new Error(`${who}: version '${c.version}' must be a DNS-1123 label`);
    if (c.replicas !== undefined && (!Number.isInteger(c.replicas) || c.replicas < 1))
      throw new Error(
        `${who}: canary ${c.version} replicas must be an integer >= 1; set replicas to 1 or more`,
      );
    seen.add(c.version);
  }
  for (const key of Object.keys(props.podLabels ?? {}))
    if (key === VERSION_LABEL)
      throw new Error(`${who}: podLabels must not set ${VERSION_LABEL}; use canaries`);
  if (props.entry.metricsPort !== undefined && props.entry.metricsPort === props.entry.port)
    throw new Error(`${who}: metricsPort must differ from port ${props.entry.port}, or be left unset`);
  const reserved = new Set(['HOST', 'PORT', 'METRICS_PORT', 'SHUTDOWN_DELAY_MS', 'SHUTDOWN_GRACE_MS']);
  for (const key of Object.keys(props.settings ?? {}))
    if (reserved.has(key)) throw new Error(`${who}: settings must not set ${key}; use the matching prop`);
}
