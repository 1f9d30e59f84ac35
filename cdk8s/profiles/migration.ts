import { appMeshNamespaceLabels, renderAppMesh } from '../../mesh/render/app-mesh.ts';
import { latticeNamespaceLabels, renderGatewayApi } from '../../mesh/render/gateway-api.ts';
import { migrationReport } from '../../mesh/render/migration.ts';
import type { MeshmartConfig } from '../config.ts';
import { MeshIngressGateway } from '../constructs/mesh-ingress-gateway.ts';
import { compose, type Profile } from './compose.ts';
import { INGRESS_GATEWAY } from '../../mesh/names.ts';
import { appMeshDiscovery, INGRESS_PORT, ingressRole } from './eks-appmesh.ts';
import { latticeOptions } from './eks-lattice.ts';
import { observabilityStack } from '../constructs/observability/stack.ts';
import { Dashboards } from '../constructs/observability/dashboards.ts';
import { Monitoring } from '../constructs/observability/monitoring.ts';

/**
 * App Mesh and Lattice at once, with the same weights on both, so traffic can move service by service;
 * MIGRATION.md says what changes for each. Sidecars stay, so Pod Security enforces "privileged" here too.
 */
export function migrationProfile(config: MeshmartConfig): Profile {
  const c = compose({
    name: 'migration',
    platform: 'eks',
    config,
    namespaceLabels: { ...appMeshNamespaceLabels(), ...latticeNamespaceLabels() },
    podSecurityException: 'app-mesh-proxyinit',
    mesh: 'migration',
  });
  renderAppMesh(c.chart('40-app-mesh'), c.model, {
    ingressGatewayName: INGRESS_GATEWAY,
    ingressPort: INGRESS_PORT,
    discovery: appMeshDiscovery(config),
  });
  const report = renderGatewayApi(c.chart('41-gateway-api'), c.model, latticeOptions(config));
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
    name: 'migration',
    app: c.app,
    charts: c.charts,
    model: c.model,
    callersVia: 'both',
    reports: {
      'MIGRATION.md': migrationReport(c.model, { discovery: appMeshDiscovery(config) }),
      'LATTICE-REPORT.md': report.markdown,
    },
  };
}
