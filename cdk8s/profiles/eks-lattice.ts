import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import {
  latticeNamespaceLabels,
  renderGatewayApi,
  type GatewayApiOptions,
} from '../../mesh/render/gateway-api.ts';
import { roleArn, type MeshmartConfig } from '../config.ts';
import { serviceSelector } from '../../mesh/names.ts';
import { publicLoadBalancerAnnotations } from '../constructs/mesh-ingress-gateway.ts';
import { compose, type Profile } from './compose.ts';
import { observabilityStack } from '../constructs/observability/stack.ts';
import { Dashboards } from '../constructs/observability/dashboards.ts';
import { Monitoring } from '../constructs/observability/monitoring.ts';

/**
 * EKS with VPC Lattice through the AWS Gateway API Controller: HTTPRoutes with weighted backendRefs,
 * TargetGroupPolicy health checks, IAMAuthPolicy; what Lattice cannot carry is in LATTICE-REPORT.md and is enforced
 * by the kit's HTTP client. Lattice is not internet-facing, so the public gateway gets its own NLB Service.
 */
export function eksLatticeProfile(config: MeshmartConfig): Profile {
  const c = compose({
    name: 'eks-lattice',
    platform: 'eks',
    config,
    namespaceLabels: latticeNamespaceLabels(),
    mesh: 'lattice',
    // IAMAuthPolicy admits only SigV4-signed calls from the callers' IRSA roles.
    sigv4Region: config.aws.region,
    upstreamUrl: (upstream) => `http://${upstream.name}.${config.latticeDomain}`,
  });
  const report = renderGatewayApi(c.chart('40-gateway-api'), c.model, latticeOptions(config));
  publicService(c.chart('25-ingress'), config, c.model.ingress);
  observabilityStack({
    platform: 'eks',
    config,
    namespaces: c.chart('01-observability-namespaces'),
    objects: c.chart('50-observability'),
  });
  // kube-prometheus-stack picks these up: PodMonitors, PrometheusRule, dashboard ConfigMaps.
  const monitoring = c.chart('51-monitoring');
  new Monitoring(monitoring, 'Monitoring', { namespace: config.namespace });
  new Dashboards(monitoring, 'Dashboards', { namespace: config.namespace });
  return {
    name: 'eks-lattice',
    app: c.app,
    charts: c.charts,
    model: c.model,
    callersVia: 'lattice',
    reports: { 'LATTICE-REPORT.md': report.markdown },
  };
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
