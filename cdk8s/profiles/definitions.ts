import type { ProfileName } from './names.ts';

/** Where the profile runs: a local kind cluster (in-cluster datastores, no AWS) or EKS (managed datastores, IRSA). */
export type ProfilePlatform = 'kind' | 'eks';

/**
 * Which data plane carries service-to-service calls: none (plain Services, the kit's client enforces the policy),
 * App Mesh (Envoy sidecars, a VirtualGateway as ingress), VPC Lattice through the Gateway API (an NLB for the public
 * service), or both at once with the same weights (the migration from App Mesh to Lattice).
 */
export type ProfileMesh = 'none' | 'app-mesh' | 'gateway-api' | 'both';

/**
 * Where metrics go: `in-cluster` runs Prometheus and Grafana in the observability stack; `kube-prometheus-stack`
 * leaves them to that add-on and writes its PodMonitors, PrometheusRule and dashboard ConfigMaps (51-monitoring).
 */
export type ProfileMonitoring = 'in-cluster' | 'kube-prometheus-stack';

/** What a profile is: one synth path (cdk8s/profiles/build.ts) turns it into charts. */
export interface ProfileDefinition {
  readonly platform: ProfilePlatform;
  readonly mesh: ProfileMesh;
  readonly monitoring: ProfileMonitoring;
}

export const PROFILES: Readonly<Record<ProfileName, ProfileDefinition>> = {
  kind: { platform: 'kind', mesh: 'none', monitoring: 'in-cluster' },
  'eks-appmesh': { platform: 'eks', mesh: 'app-mesh', monitoring: 'kube-prometheus-stack' },
  'eks-lattice': { platform: 'eks', mesh: 'gateway-api', monitoring: 'kube-prometheus-stack' },
  migration: { platform: 'eks', mesh: 'both', monitoring: 'kube-prometheus-stack' },
};
