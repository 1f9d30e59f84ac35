import { k8s } from 'cdk8s-plus-27';
import type { ComposedEnvVar, SecretEnvVar } from './microservice.ts';

/** CPU and memory requests and limits of the service container. */
export interface ContainerResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

export const DEFAULT_RESOURCES: ContainerResources = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

/** The uid and gid the image runs as (the Dockerfile's non-root user). */
export const RUN_AS = 10001;

export interface HardenedPodSpecOptions {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly port: number;
  /** A second container port, `metrics`, where /metrics is served (METRICS_PORT). @default none */
  readonly metricsPort?: number | undefined;
  readonly configMapName: string;
  readonly serviceAccountName: string;
  readonly secretEnv: readonly SecretEnvVar[];
  readonly composedEnv: readonly ComposedEnvVar[];
  readonly resources?: ContainerResources | undefined;
  readonly terminationGracePeriodSeconds: number;
  readonly spreadSelector: Readonly<Record<string, string>>;
  readonly zoneSpread: 'ScheduleAnyway' | 'DoNotSchedule';
  readonly caBundleConfigMap?: string | undefined;
}

/** Security context that passes Pod Security "restricted". */
export function restrictedContainerSecurityContext(): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedPodSecurityContext(uid = RUN_AS): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function resourceRequirements(r: ContainerResources): k8s.ResourceRequirements {
  return {
    requests: {
      cpu: k8s.Quantity.fromString(r.requests.cpu),
      memory: k8s.Quantity.fromString(r.requests.memory),
    },
    limits: { cpu: k8s.Quantity.fromString(r.limits.cpu), memory: k8s.Quantity.fromString(r.limits.memory) },
  };
}

/** A pod running one service: probes on the kit's health endpoints, hardened, spread across zones and nodes. */
export function hardenedPodSpec(o: HardenedPodSpecOptions): k8s.PodSpec {
  const httpGet = (path: string): k8s.HttpGetAction => ({ path, port: k8s.IntOrString.fromString('http') });
  const volumes: k8s.Volume[] = [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }];
  const mounts: k8s.VolumeMount[] = [{ name: 'tmp', mountPath: '/tmp' }];
  if (o.caBundleConfigMap) {
    volumes.push({ name: 'ca-bundle', configMap: { name: o.caBundleConfigMap } });
    mounts.push({ name: 'ca-bundle', mountPath: '/etc/meshmart/tls', readOnly: true });
  }
  const env: k8s.EnvVar[] = [
    ...o.secretEnv.map((s) => ({
      name: s.env,
      valueFrom: { secretKeyRef: { name: s.secretName, key: s.key, optional: s.optional ?? false } },
    })),
    ...o.composedEnv.map((c) => ({ name: c.env, value: c.value })),
  ];
  return {
    serviceAccountName: o.serviceAccountName,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
    securityContext: restrictedPodSecurityContext(),
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: o.zoneSpread,
        labelSelector: { matchLabels: { ...o.spreadSelector } },
      },
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { ...o.spreadSelector } },
      },
    ],
    containers: [
      {
        name: o.name,
        image: o.image,
        imagePullPolicy: 'IfNotPresent',
        command: [...o.command],
        ports: [
          { name: 'http', containerPort: o.port, protocol: 'TCP' },
          ...(o.metricsPort ? [{ name: 'metrics', containerPort: o.metricsPort, protocol: 'TCP' }] : []),
        ],
        envFrom: [{ configMapRef: { name: o.configMapName } }],
        ...(env.length > 0 ? { env } : {}),
        resources: resourceRequirements(o.resources ?? DEFAULT_RESOURCES),
        startupProbe: {
          httpGet: httpGet('/healthz/live'),
          periodSeconds: 2,
          failureThreshold: 30,
          timeoutSeconds: 2,
        },
        readinessProbe: {
          httpGet: httpGet('/healthz/ready'),
          periodSeconds: 5,
          failureThreshold: 2,
          timeoutSeconds: 2,
        },
        livenessProbe: {
          httpGet: httpGet('/healthz/live'),
          periodSeconds: 10,
          failureThreshold: 3,
          timeoutSeconds: 2,
        },
        securityContext: restrictedContainerSecurityContext(),
        volumeMounts: mounts,
      },
    ],
    volumes,
  };
}
