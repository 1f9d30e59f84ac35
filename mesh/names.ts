// The label and annotation keys and the object names the manifests are written with, in one place: the mesh renderers,
// the cdk8s constructs and profiles, the observability stack, ops/ (which waits for and patches objects by these names)
// and the scripts that read the synthesized manifests (build-chart.ts, kind-manifests.ts) all import them from here.
// Imports nothing, so every deployment part may import it (docs/architecture.md).

/** Pod and object label keys every MeshMart workload carries; the mesh renderers select pods by the same keys. */
export const NAME_LABEL = 'app.kubernetes.io/name';
export const VERSION_LABEL = 'app.kubernetes.io/version';
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
/** Who applied an object (ops/lib/deploy.ts writes its field manager there). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The `app.kubernetes.io/part-of` value of everything MeshMart deploys. */
export const PART_OF = 'meshmart';
/** The deploy (profile) an object belongs to; ops/lib/deploy.ts prunes by it. */
export const DEPLOY_LABEL = 'meshmart.dev/deploy';
/** The label Kubernetes puts on every Namespace with its own name; namespace selectors match on it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A Namespace's annotation naming the exception that lowers its pod security level (cdk8s/constructs/namespace.ts). */
export const POD_SECURITY_EXCEPTION_ANNOTATION = 'meshmart.dev/pod-security-exception';
/** A pod template's hash of its mounted configuration, so a change of configuration rolls the pods. */
export const CONFIG_SHA256_ANNOTATION = 'meshmart.dev/config-sha256';
/** A route object's canary state (ops/lib/traffic.ts writes it, ops/lib/canary-plan.ts reads it to resume). */
export const CANARY_ANNOTATION = 'meshmart.dev/canary';
/** The deploy inventory ConfigMap's description (ops/lib/deploy.ts). */
export const DESCRIPTION_ANNOTATION = 'meshmart.dev/description';

/** App Mesh: the namespace label the Mesh's namespaceSelector matches, and the one GatewayRoutes are selected by. */
export const APP_MESH_MESH_LABEL = 'appmesh.k8s.aws/mesh';
export const APP_MESH_GATEWAY_LABEL = 'appmesh.k8s.aws/gateway';
export const APP_MESH_SIDECAR_INJECTOR_LABEL = 'appmesh.k8s.aws/sidecarInjectorWebhook';
export const APP_MESH_EGRESS_IGNORED_PORTS_ANNOTATION = 'appmesh.k8s.aws/egressIgnoredPorts';
/** VPC Lattice: the namespace label that has the controller inject its pod readiness gate. */
export const LATTICE_READINESS_GATE_LABEL = 'application-networking.k8s.aws/pod-readiness-gate-inject';

/** Pod annotations Prometheus' kubernetes_sd scrape config reads. */
export const PROMETHEUS_SCRAPE_ANNOTATION = 'prometheus.io/scrape';
export const PROMETHEUS_PORT_ANNOTATION = 'prometheus.io/port';
export const PROMETHEUS_PATH_ANNOTATION = 'prometheus.io/path';

/** Namespaces: the services', the in-cluster datastores' (kind) and the Prometheus Operator's. */
export const APP_NAMESPACE = 'meshmart';
export const DATA_NAMESPACE = 'meshmart-data';
export const MONITORING_NAMESPACE = 'monitoring';
/** The trace collector's namespace and Service. */
export const OTEL_NAMESPACE = 'observability';
export const OTEL_SERVICE = 'otel-collector';

/** The App Mesh Mesh and the ingress VirtualGateway (its Envoy Deployment and Service carry the same name). */
export const MESH_NAME = 'meshmart';
export const INGRESS_GATEWAY = 'meshmart-ingress';
/** The Gateway API Gateway, i.e. the VPC Lattice service network. */
export const GATEWAY_NAME = 'meshmart';

/** Secrets the profiles reference: datastore credentials, the gateway's keys, the internal signing key. */
export const DATASTORES_SECRET = 'meshmart-datastores';
export const GATEWAY_SECRET = 'meshmart-gateway';
export const INTERNAL_SECRET = 'meshmart-internal';
/** The ConfigMap with the RDS CA bundle the services verify DocumentDB with. */
export const CA_BUNDLE_CONFIGMAP = 'rds-ca-bundle';

/** The repository of the one image every service runs (the registry in front of it varies by profile). */
export const IMAGE_REPOSITORY = 'meshmart/services';

/** Labels selecting every version of a service (the stable Service's selector). */
export function serviceSelector(name: string): Record<string, string> {
  return { [NAME_LABEL]: name, [PART_OF_LABEL]: PART_OF };
}

/** Labels selecting one version of a service (a Deployment's and a per-version Service's selector). */
export function versionSelector(name: string, version: string): Record<string, string> {
  return { ...serviceSelector(name), [VERSION_LABEL]: version };
}

/** `<service>-<version>`: the per-version Deployment, Service and VirtualNode name. */
export function versionedName(service: string, version: string): string {
  return `${service}-${version}`;
}

/** `<service>-router`: a service's App Mesh VirtualRouter, whose route weights a canary shifts. */
export function routerName(service: string): string {
  return `${service}-router`;
}

/** `<service>-settings`: a service's ConfigMap of settings. */
export function settingsConfigMapName(service: string): string {
  return `${service}-settings`;
}

/** `<namespace>-data`: the datastores' namespace beside an app namespace other than the default. */
export function dataNamespaceFor(namespace: string): string {
  return namespace === APP_NAMESPACE ? DATA_NAMESPACE : `${namespace}-data`;
}
