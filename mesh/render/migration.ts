import { upstreamEnvPrefix, upstreamSettings } from '../client-policy.ts';
import type { ServicePolicy, TrafficModel } from '../model.ts';
import { GATEWAY_NAME, INGRESS_GATEWAY, MESH_NAME, routerName, versionedName } from '../names.ts';
import type { AppMeshDiscovery } from './app-mesh.ts';
import { carriedRoute, notCarriedReport } from './gateway-api.ts';

export interface MigrationOptions {
  /** @default 'meshmart' */
  readonly meshName?: string;
  /** @default 'meshmart-ingress' */
  readonly ingressGatewayName?: string;
  /** @default 'meshmart' */
  readonly gatewayName?: string;
  /** How the App Mesh side discovers endpoints (the profile's `appMesh.discovery`). @default { kind: 'dns' } */
  readonly discovery?: AppMeshDiscovery;
}

/**
 * MIGRATION.md: service by service, which App Mesh object becomes which Gateway API / Lattice object, what Lattice
 * carries, what moves to the kit's HTTP client (with its env vars), and the version weights on both sides.
 */
export function migrationReport(model: TrafficModel, options: MigrationOptions = {}): string {
  const meshName = options.meshName ?? MESH_NAME;
  const ingressName = options.ingressGatewayName ?? INGRESS_GATEWAY;
  const gatewayName = options.gatewayName ?? GATEWAY_NAME;
  const gaps = notCarriedReport(model).items;
  const lines: string[] = [
    '# Migration: AWS App Mesh to VPC Lattice (Gateway API)',
    '',
    'AWS App Mesh was discontinued on 2026-09-30. This profile renders both meshes from the same traffic model with',
    'the same version weights, so traffic can move service by service. Suggested order:',
    '',
    '1. Install the AWS Gateway API Controller and apply the Lattice objects below next to the App Mesh ones.',
    "2. Give every caller's IRSA role permission to `vpc-lattice-svcs:Invoke` and turn on SigV4 signing in its client:",
    '   `UPSTREAM_<NAME>_SIGV4_SERVICE=vpc-lattice-svcs` and `UPSTREAM_<NAME>_SIGV4_REGION=<region>` per upstream (what',
    '   the eks-lattice profile renders), and egress to TCP 443 for STS. The kit then signs every call (UNSIGNED-PAYLOAD);',
    '   Envoy passes the signature through untouched, so this is safe before the caller moves.',
    '3. Point each caller at the Lattice hostname of its upstreams (`<NAME>_URL`), leaves of the call graph first.',
    "4. Set the client policy env vars (below) with retries on, since Envoy's retries go away with the sidecar.",
    `5. When no traffic reaches Envoy, remove the App Mesh objects, the \`${meshName}\` Mesh and the sidecar-injection namespace labels.`,
    '',
    '| App Mesh | Gateway API / Lattice |',
    '|---|---|',
    `| Mesh \`${meshName}\` (namespace selector, sidecar injection) | Gateway \`${gatewayName}\` (class \`amazon-vpc-lattice\`, the service network); readiness-gate namespace label |`,
    `| VirtualGateway \`${ingressName}\` + GatewayRoute | internet-facing ALB/NLB in front of Service \`${model.ingress.service}\` (Lattice is not internet-facing) |`,
    '| VirtualService + VirtualRouter + Route | HTTPRoute (one rule per carried route) |',
    '| VirtualNode per version (listener health check) | Service per version + TargetGroupPolicy health check |',
    "| backends allow-list, mTLS | IAMAuthPolicy allowing exactly the callers' IAM roles (SigV4) |",
    '',
    ...discoveryNotes(options.discovery ?? { kind: 'dns' }),
  ];

  for (const service of model.services) {
    lines.push(`## ${service.name}`, '');
    lines.push(...objectTable(service, ingressName));
    lines.push('');
    const weights = service.versions
      .map((v) => `\`${versionedName(service.name, v.version)}\` ${v.weight}`)
      .join(', ');
    lines.push(
      service.callers.length > 0
        ? `Weights (same on both sides): ${weights}.`
        : `Weights: ${weights} (App Mesh router; without the mesh, the public load balancer or the replica counts).`,
    );
    const carried =
      service.callers.length === 0
        ? []
        : [
            'weighted targets',
            ...service.routes
              .filter(carriedRoute)
              .map(
                (r) =>
                  `route \`${r.name}\` match (path prefix ${r.match.pathPrefix ?? '/'}${r.match.method ? `, ${r.match.method}` : ''})`,
              ),
            `health check ${service.healthCheck.path} every ${service.healthCheck.intervalMs / 1_000} s`,
            `who may call it (${service.callers.join(', ')})`,
          ];
    if (carried.length) lines.push(`Carried by Lattice: ${carried.join('; ')}.`);
    const mine = gaps.filter((g) => g.service === service.name);
    if (mine.length) {
      lines.push('', 'Moves out of the mesh:', '');
      for (const g of mine)
        lines.push(`- ${g.route ? `route \`${g.route}\`: ` : ''}${g.policy} -> ${g.enforcedBy}`);
    }
    if (service.callers.length > 0) {
      const env = Object.entries(upstreamSettings(service))
        .map(([k, v]) => `${upstreamEnvPrefix(service.name)}${k}=${v}`)
        .join(' ');
      lines.push('', `Client env on ${service.callers.join(', ')}: \`${env}\``);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** What changes in service discovery: Lattice targets Kubernetes Services (EndpointSlices), never Cloud Map. */
function discoveryNotes(discovery: AppMeshDiscovery): string[] {
  if (discovery.kind === 'dns') return [];
  return [
    `Service discovery: the VirtualNodes find their endpoints in AWS Cloud Map (namespace \`${discovery.namespaceName}\`,`,
    'one Cloud Map service per app service, instances filtered by the `app.kubernetes.io/version` attribute). Lattice',
    "does not use Cloud Map: the AWS Gateway API Controller registers each HTTPRoute backendRef's Service endpoints",
    'as the targets of a Lattice target group, and callers resolve `<service>.<latticeDomain>`. What changes:',
    '',
    '- Nothing to register: the per-version Services (`<service>-<version>`) the backendRefs name already exist.',
    '- Version selection moves from Cloud Map attributes to the HTTPRoute backendRefs and their weights.',
    "- Health: Cloud Map's instance health (set by the App Mesh controller from pod readiness) is replaced by the",
    "  TargetGroupPolicy health check and the pods' Lattice readiness gate.",
    `- After step 5, delete the Cloud Map services in \`${discovery.namespaceName}\` (the App Mesh controller deregisters`,
    '  instances when the VirtualNodes go; the services and the namespace stay until deleted) and the',
    '  `servicediscovery:*` permissions of the controller.',
    '',
  ];
}

function objectTable(service: ServicePolicy, ingressName: string): string[] {
  const nodes = service.versions.map((v) => versionedName(service.name, v.version));
  const rows = [
    '| App Mesh object | Lattice object |',
    '|---|---|',
    ...nodes.map((n) => `| VirtualNode \`${n}\` | Service \`${n}\` + TargetGroupPolicy \`${n}\` |`),
  ];
  if (service.callers.length > 0) {
    rows.push(
      `| VirtualService \`${service.name}\` + VirtualRouter \`${routerName(service.name)}\` (${service.routes.length} routes) | HTTPRoute \`${service.name}\` (${service.routes.filter(carriedRoute).length} rules) |`,
      `| VirtualNode backends of ${service.callers.join(', ')} | IAMAuthPolicy \`${service.name}\` |`,
    );
  } else {
    rows.push(
      `| VirtualService \`${service.name}\` + VirtualRouter \`${routerName(service.name)}\`, GatewayRoute from \`${ingressName}\` | load balancer in front of Service \`${service.name}\` |`,
    );
  }
  return rows;
}
