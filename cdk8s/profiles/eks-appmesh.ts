import { appMeshNamespaceLabels, renderAppMesh } from '../../mesh/render/app-mesh.ts';
import type { MeshmartConfig } from '../config.ts';
import { MeshIngressGateway } from '../constructs/mesh-ingress-gateway.ts';
import { compose, type Profile } from './compose.ts';

export const INGRESS_GATEWAY = 'meshmart-ingress';
export const INGRESS_PORT = 8088;

/**
 * EKS with App Mesh: Envoy sidecars (injected), the model as App Mesh CRDs, a VirtualGateway with its Envoy
 * Deployment behind an NLB. The injected proxy-init container needs NET_ADMIN, which Pod Security "restricted"
 * (and "baseline") rejects, so this namespace enforces "privileged" and still audits and warns on "restricted".
 */
export function eksAppMeshProfile(config: MeshmartConfig): Profile {
  const c = compose({
    name: 'eks-appmesh',
    platform: 'eks',
    config,
    namespaceLabels: appMeshNamespaceLabels(),
    enforce: 'privileged',
    meshRetries: true,
    mesh: 'app-mesh',
  });
  const mesh = c.chart('40-app-mesh');
  renderAppMesh(mesh, c.model, { ingressGatewayName: INGRESS_GATEWAY, ingressPort: INGRESS_PORT });
  new MeshIngressGateway(c.chart('25-ingress'), 'Ingress', {
    name: INGRESS_GATEWAY,
    namespace: config.namespace,
    port: INGRESS_PORT,
  });
  return {
    name: 'eks-appmesh',
    app: c.app,
    charts: c.charts,
    model: c.model,
    reports: {},
    callersVia: 'pods',
  };
}
