import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { COMPONENT_LABEL, NAME_LABEL, PART_OF, PART_OF_LABEL, VERSION_LABEL } from '@meshmart/mesh/names.ts';
import {
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type ContainerResources,
} from '../pod-spec.ts';

/** Labels of an observability component's pods; `selector` is the part its Service and policies select on. */
export function componentLabels(
  name: string,
  image: string,
): { selector: Record<string, string>; all: Record<string, string> } {
  const selector = { [NAME_LABEL]: name, [PART_OF_LABEL]: PART_OF };
  return {
    selector,
    all: { ...selector, [COMPONENT_LABEL]: 'observability', [VERSION_LABEL]: imageTag(image) },
  };
}

/** The version tag of a pinned image (`repo:tag`), as a label value. */
export function imageTag(image: string): string {
  const tag = image.slice(image.lastIndexOf(':') + 1);
  if (!tag || tag === 'latest' || image.lastIndexOf(':') < image.lastIndexOf('/'))
    throw new Error(`observability: image '${image}' must be pinned to a version tag`);
  return tag.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
}

export interface ComponentContainer {
  readonly name: string;
  readonly image: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  /** HTTP GET probed for readiness and liveness. */
  readonly probe: { readonly path: string; readonly port: string };
  readonly resources: ContainerResources;
  /** The uid the image expects (its own non-root user). */
  readonly uid: number;
  readonly gid?: number;
  readonly mounts: readonly k8s.VolumeMount[];
}

/** A container that passes Pod Security "restricted" and the policy rules: non-root, read-only root, probes, limits. */
export function componentContainer(c: ComponentContainer): k8s.Container {
  const probe = (initialDelaySeconds: number, periodSeconds: number): k8s.Probe => ({
    httpGet: { path: c.probe.path, port: k8s.IntOrString.fromString(c.probe.port) },
    initialDelaySeconds,
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold: 3,
  });
  const env = Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value }));
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: 'IfNotPresent',
    ...(c.args ? { args: [...c.args] } : {}),
    ...(env.length > 0 ? { env } : {}),
    ports: c.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
    resources: resourceRequirements(c.resources),
    readinessProbe: probe(5, 10),
    livenessProbe: probe(30, 20),
    securityContext: {
      ...restrictedContainerSecurityContext(),
      runAsUser: c.uid,
      runAsGroup: c.gid ?? c.uid,
    },
    volumeMounts: [...c.mounts],
  };
}

export interface ComponentProps {
  readonly name: string;
  readonly namespace: string;
  readonly container: ComponentContainer;
  readonly volumes: readonly k8s.Volume[];
  /** @default no ServiceAccount token (the component does not call the API server) */
  readonly serviceAccountName?: string;
  /** @default 1 */
  readonly replicas?: number;
  /** Pod annotations, e.g. a checksum of the configuration so a change rolls the pods. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A Deployment with a ClusterIP Service of the same name on the container's ports. */
export function componentDeployment(scope: Construct, id: string, p: ComponentProps): void {
  const { selector, all } = componentLabels(p.name, p.container.image);
  const replicas = p.replicas ?? 1;
  new k8s.KubeDeployment(scope, `${id}Deployment`, {
    metadata: { name: p.name, namespace: p.namespace, labels: all },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: all, ...(p.annotations ? { annotations: { ...p.annotations } } : {}) },
        spec: {
          ...(p.serviceAccountName ? { serviceAccountName: p.serviceAccountName } : {}),
          automountServiceAccountToken: p.serviceAccountName !== undefined,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(p.container.uid),
          containers: [componentContainer(p.container)],
          volumes: [...p.volumes],
        },
      },
    },
  });
  new k8s.KubeService(scope, `${id}Service`, {
    metadata: { name: p.name, namespace: p.namespace, labels: all },
    spec: {
      selector,
      ports: p.container.ports.map((port) => ({
        name: port.name,
        port: port.port,
        targetPort: k8s.IntOrString.fromString(port.name),
        protocol: 'TCP',
      })),
    },
  });
  if (replicas > 1)
    new k8s.KubePodDisruptionBudget(scope, `${id}Pdb`, {
      metadata: { name: p.name, namespace: p.namespace, labels: all },
      spec: { minAvailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
}

/** An emptyDir volume and where it is mounted. */
export function scratch(
  name: string,
  mountPath: string,
  size = '256Mi',
): { volume: k8s.Volume; mount: k8s.VolumeMount } {
  return {
    volume: { name, emptyDir: { sizeLimit: k8s.Quantity.fromString(size) } },
    mount: { name, mountPath },
  };
}

/** A ConfigMap volume mounted read-only. */
export function configVolume(
  name: string,
  configMap: string,
  mountPath: string,
): { volume: k8s.Volume; mount: k8s.VolumeMount } {
  return { volume: { name, configMap: { name: configMap } }, mount: { name, mountPath, readOnly: true } };
}
