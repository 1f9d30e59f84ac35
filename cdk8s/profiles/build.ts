import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { INGRESS_GATEWAY, serviceSelector } from '@meshmart/mesh/names.ts';
import {
  appMeshNamespaceLabels,
  renderAppMesh,
  type AppMeshDiscovery,
} from '@meshmart/mesh/render/app-mesh.ts';
import {
  latticeNamespaceLabels,
  renderGatewayApi,
  type GatewayApiOptions,
} from '@meshmart/mesh/render/gateway-api.ts';
import { migrationReport } from '@meshmart/mesh/render/migration.ts';
import { roleArn, type MeshmartConfig } from '../config.ts';
import { MeshIngressGateway, publicLoadBalancerAnnotations } from '../constructs/mesh-ingress-gateway.ts';
import { Dashboards } from '../constructs/observability/dashboards.ts';
import { Monitoring } from '../constructs/observability/monitoring.ts';
import { observabilityStack } from '../constructs/observability/stack.ts';
import { compose, type ComposeOptions, type Profile } from './compose.ts';
import type { ProfileDefinition } from './definitions.ts';

export { INGRESS_GATEWAY };
export const INGRESS_PORT = 8088;

/**
 * The one synth path: a profile's declaration in, its construct tree out.
 *
 * - `app-mesh`: Envoy sidecars (injected), the model as App Mesh CRDs, a VirtualGateway with its Envoy Deployment
 *   behind an NLB. The injected proxy-init container needs NET_ADMIN, which Pod Security "restricted" (and
 *   "baseline") rejects, so the app namespace enforces "privileged" (the 'app-mesh-proxyinit' entry of
 *   POD_SECURITY_EXCEPTIONS) and still audits and warns on "restricted". Envoy retries, so the kit makes one attempt.
 * - `gateway-api`: VPC Lattice through the AWS Gateway API Controller: HTTPRoutes with weighted backendRefs,
 *   TargetGroupPolicy health checks, IAMAuthPolicy; what Lattice cannot carry is in LATTICE-REPORT.md and is enforced
 *   by the kit's HTTP client. Lattice is not internet-facing, so the public service gets its own NLB Service.
 * - `both`: App Mesh and Lattice at once, with the same weights on both, so traffic can move service by service;
 *   MIGRATION.md says what changes for each. Sidecars stay, so Pod Security enforces "privileged" here too.
 * - `none` (kind): in-cluster MongoDB and Redis, plain ClusterIP Services, no AWS; the kit's client enforces the policy.
 */
export function buildFromDefinition(name: string, def: ProfileDefinition, config: MeshmartConfig): Profile {
  checkDefinition(name, def);
  const appMesh = def.mesh === 'app-mesh' || def.mesh === 'both';
  const lattice = def.mesh === 'gateway-api' || def.mesh === 'both';
  const c = compose({ name, platform: def.platform, config, ...meshComposeOptions(def, config) });

  if (appMesh)
    renderAppMesh(c.chart('40-app-mesh'), c.model, {
      ingressGatewayName: INGRESS_GATEWAY,
      ingressPort: INGRESS_PORT,
      discovery: appMeshDiscovery(config),
    });
  const latticeReport = lattice
    ? renderGatewayApi(
        c.chart(def.mesh === 'both' ? '41-gateway-api' : '40-gateway-api'),
        c.model,
        latticeOptions(config),
      )
    : undefined;
  if (appMesh)
    new MeshIngressGateway(c.chart('25-ingress'), 'Ingress', {
      name: INGRESS_GATEWAY,
      namespace: config.namespace,
      port: INGRESS_PORT,
      ...ingressRole(config),
    });
  else if (lattice) publicService(c.chart('25-ingress'), config, c.model.ingress);

  observabilityStack({
    platform: def.platform,
    config,
    namespaces: c.chart('01-observability-namespaces'),
    objects: c.chart('50-observability'),
  });
  if (def.monitoring === 'kube-prometheus-stack') {
    // kube-prometheus-stack picks these up: PodMonitors, PrometheusRule, dashboard ConfigMaps.
    const monitoring = c.chart('51-monitoring');
    new Monitoring(monitoring, 'Monitoring', {
      namespace: config.namespace,
      ...(appMesh ? { envoy: true } : {}),
    });
    new Dashboards(monitoring, 'Dashboards', { namespace: config.namespace });
  }

  return {
    name,
    app: c.app,
    charts: c.charts,
    model: c.model,
    callersVia: def.mesh === 'both' ? 'both' : def.mesh === 'gateway-api' ? 'lattice' : 'pods',
    reports: {
      ...(def.mesh === 'both'
        ? { 'MIGRATION.md': migrationReport(c.model, { discovery: appMeshDiscovery(config) }) }
        : {}),
      ...(latticeReport ? { 'LATTICE-REPORT.md': latticeReport.markdown } : {}),
    },
  };
}

/** What the mesh asks of the shared part: namespace labels, Pod Security, who retries, how callers reach upstreams. */
function meshComposeOptions(
  def: ProfileDefinition,
  config: MeshmartConfig,
): Omit<ComposeOptions, 'name' | 'platform' | 'config'> {
  switch (def.mesh) {
    case 'none':
      return {};
    case 'app-mesh':
      return {
        namespaceLabels: appMeshNamespaceLabels(),
        podSecurityException: 'app-mesh-proxyinit',
        meshRetries: true,
        mesh: 'app-mesh',
      };
    case 'gateway-api':
      return {
        namespaceLabels: latticeNamespaceLabels(),
        mesh: 'lattice',
        // IAMAuthPolicy admits only SigV4-signed calls from the callers' IRSA roles.
        sigv4Region: config.aws.region,
        upstreamUrl: (upstream) => `http://${upstream.name}.${config.latticeDomain}`,
      };
    case 'both':
      return {
        namespaceLabels: { ...appMeshNamespaceLabels(), ...latticeNamespaceLabels() },
        podSecurityException: 'app-mesh-proxyinit',
        mesh: 'migration',
      };
  }
}

/** The combinations the constructs can build: the meshes are AWS's, and the bundled Prometheus runs on kind only. */
function checkDefinition(name: string, def: ProfileDefinition): void {
  if (def.platform === 'kind' && def.mesh !== 'none')
    throw new Error(
      `profile '${name}': mesh '${def.mesh}' needs AWS; on platform 'kind' use mesh 'none' (cdk8s/profiles/definitions.ts)`,
    );
  const monitoring = def.platform === 'kind' ? 'in-cluster' : 'kube-prometheus-stack';
  if (def.monitoring !== monitoring)
    throw new Error(
      `profile '${name}': platform '${def.platform}' runs monitoring '${monitoring}', not '${def.monitoring}' (cdk8s/profiles/definitions.ts)`,
    );
}

/** DNS unless the config picks AWS Cloud Map (`appMesh.discovery`). */
export function appMeshDiscovery(config: MeshmartConfig): AppMeshDiscovery {
  return config.appMesh?.discovery === 'cloudMap'
    ? { kind: 'cloudMap', namespaceName: config.appMesh.cloudMapNamespace ?? '' }
    : { kind: 'dns' };
}

/** The ingress Envoy's IRSA role, only when the config names one (the AWS CDK app does). */
export function ingressRole(config: MeshmartConfig): { roleArn?: string } {
  const arn = config.aws.roleArns?.[INGRESS_GATEWAY];
  return arn ? { roleArn: arn } : {};
}

/** Lattice routes on `<service>.<latticeDomain>`; IAMAuthPolicy admits the callers' IRSA roles. */
export function latticeOptions(config: MeshmartConfig): GatewayApiOptions {
  return {
    principal: (service) => roleArn(config, service),
    hostnameSuffix: config.latticeDomain,
    listenerPort: 80,
  };
}

/** An internet-facing NLB in front of the public service's pods. */
export function publicService(
  scope: Construct,
  config: MeshmartConfig,
  ingress: { readonly service: string; readonly port: number },
): void {
  new k8s.KubeService(scope, 'PublicService', {
    metadata: {
      name: `${ingress.service}-public`,
      namespace: config.namespace,
      labels: serviceSelector(ingress.service),
      annotations: publicLoadBalancerAnnotations(),
    },
    spec: {
      type: 'LoadBalancer',
      selector: serviceSelector(ingress.service),
      ports: [{ name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
    },
  });
}
