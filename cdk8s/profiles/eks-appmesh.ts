import { INGRESS_GATEWAY } from '../../mesh/names.ts';
import { appMeshNamespaceLabels, renderAppMesh, type AppMeshDiscovery } from '../../mesh/render/app-mesh.ts';
import type { MeshmartConfig } from '../config.ts';
import { MeshIngressGateway } from '../constructs/mesh-ingress-gateway.ts';
import { compose, type Profile } from './compose.ts';
import { observabilityStack } from '../constructs/observability/stack.ts';
import { Dashboards } from '../constructs/observability/dashboards.ts';
import { Monitoring } from '../constructs/observability/monitoring.ts';

export { INGRESS_GATEWAY };

/** DNS unless the config picks AWS Cloud Map (`appMesh.discovery`). */
export function appMeshDiscovery(config: MeshmartConfig): AppMeshDiscovery {
  return config.appMesh?.discovery === 'cloudMap'
    ? { kind: 'cloudMap', namespaceName: config.appMesh.cloudMapNamespace ?? '' }
    : { kind: 'dns' };
}
export const INGRESS_PORT = 8088;

/**
 * EKS with App Mesh: Envoy sidecars (injected), the model as App Mesh CRDs, a VirtualGateway with its Envoy
 * Deployment behind an NLB. The injected proxy-init container needs NET_ADMIN, which Pod Security "restricted"
 * (and "baseline") rejects, so this namespace enforces "privileged" (the 'app-mesh-proxyinit' entry of
 * POD_SECURITY_EXCEPTIONS) and still audits and warns on "restricted".
 */
export function eksAppMeshProfile(config: MeshmartConfig): Profile {
  const c = compose({
    name: 'eks-appmesh',
    platform: 'eks',
    config,
    namespaceLabels: appMeshNamespaceLabels(),
    podSecurityException: 'app-mesh-proxyinit',
    meshRetries: true,
    mesh: 'app-mesh',
  });
  const mesh = c.chart('40-app-mesh');
  renderAppMesh(mesh, c.model, {
    ingressGatewayName: INGRESS_GATEWAY,
    ingressPort: INGRESS_PORT,
    discovery: appMeshDiscovery(config),
  });
  new MeshIngressGateway(c.chart('25-ingress'), 'Ingress', {
    name: INGRESS_GATEWAY,
    namespace: config.namespace,
    port: INGRESS_PORT,
    ...ingressRole(config),
  });
  observabilityStack({
    platform: 'eks',
    config,
    namespaces: c.chart('01-observability-namespaces'),
    objects: c.chart('50-observability'),
  });
  // kube-prometheus-stack picks these up: PodMonitors, PrometheusRule, dashboard ConfigMaps.
  const monitoring = c.chart('51-monitoring');
  new Monitoring(monitoring, 'Monitoring', { namespace: config.namespace, envoy: true });
  new Dashboards(monitoring, 'Dashboards', { namespace: config.namespace });
  return {
    name: 'eks-appmesh',
    app: c.app,
    charts: c.charts,
    model: c.model,
    reports: {},
    callersVia: 'pods',
  };
}

/** The ingress Envoy's IRSA role, only when the config names one (the AWS CDK app does). */
export function ingressRole(config: MeshmartConfig): { roleArn?: string } {
  const arn = config.aws.roleArns?.[INGRESS_GATEWAY];
  return arn ? { roleArn: arn } : {};
}
