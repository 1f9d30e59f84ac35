import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import type { ServiceEntry } from '@meshmart/catalogue';
import { INGRESS_GATEWAY, NAME_LABEL, NAMESPACE_NAME_LABEL } from '../names.ts';
import type { ServicePolicy, TrafficModel } from '../model.ts';

type Labels = Readonly<Record<string, string>>;

export interface NetworkPolicyOptions {
  /** @default the model's namespace */
  readonly namespace?: string;
  /**
   * In-cluster datastores (kind): their namespace and pod labels; that namespace gets a default deny too.
   * Unset: managed datastores outside the cluster (DocumentDB, ElastiCache), reached through `externalDatastores`.
   */
  readonly datastores?:
    | {
        readonly namespace: string;
        readonly mongodb: Labels;
        readonly redis: Labels;
        /** @default 27017 */
        readonly mongodbPort?: number;
        /** @default 6379 */
        readonly redisPort?: number;
      }
    | undefined;
  /** Managed datastores: egress on their ports to this CIDR (the VPC's). @default { cidr: '0.0.0.0/0', 27017, 6379 } */
  readonly externalDatastores?: {
    readonly cidr?: string;
    readonly mongodbPort?: number;
    readonly redisPort?: number;
  };
  /** Namespace of the metrics scraper (Prometheus), allowed in on each service's metrics port (its port, or METRICS_PORT). */
  readonly metricsNamespace: string;
  /** The OpenTelemetry collector traces are exported to. */
  readonly otel: { readonly namespace: string; readonly port: number; readonly podLabels?: Labels };
  /**
   * Where the public service may be called from. @default any source (it is the front door; load balancer source
   * addresses are not known here)
   */
  readonly publicIngress?:
    { readonly namespace: string; readonly podLabels?: Labels } | { readonly cidr: string };
  /**
   * `app-mesh`: the ingress VirtualGateway's Envoy pods (`ingressGateway`) get their own allows, and every pod may
   * reach TCP 443 (Envoy's xDS to App Mesh, STS for IRSA). `lattice`: callers reach services through the Lattice
   * data plane (169.254.171.0/24), not pod to pod. `migration`: both at once (pod to pod and through Lattice).
   * @default 'none'
   */
  readonly mesh?: MeshKind;
  /** @default { name: 'meshmart-ingress', port: 8088 } */
  readonly ingressGateway?: { readonly name: string; readonly port: number };
  /** Port of the Lattice Gateway listener callers dial. @default 80 */
  readonly latticeListenerPort?: number;
  /**
   * Callers sign their calls with SigV4 (Lattice IAMAuthPolicy): they reach TCP 443 for STS, where IRSA's web identity
   * is exchanged for credentials. App Mesh allows 443 to every pod already. @default false
   */
  readonly signingCallers?: boolean;
}

export type MeshKind = 'none' | 'app-mesh' | 'lattice' | 'migration';

/** VPC Lattice's link-local data plane range (the managed prefix list for IPv4). */
export const LATTICE_CIDR = '169.254.171.0/24';

/** Redis carries the event bus too: every service that publishes or consumes needs it. */
export function usesRedis(entry: ServiceEntry): boolean {
  return entry.datastores.includes('redis') || entry.publishes.length > 0 || entry.consumes.length > 0;
}

/**
 * Default deny (ingress and egress) per namespace, then exactly what the model needs: each service is reachable on
 * its port from its callers only, reaches its dependencies only, plus DNS, its datastores, metrics scraping and
 * trace export. A service not in another's dependsOn gets no allow.
 */
export function renderNetworkPolicies(
  scope: Construct,
  model: TrafficModel,
  options: NetworkPolicyOptions,
): void {
  const ns = options.namespace ?? model.namespace;
  const mesh = options.mesh ?? 'none';
  const viaLattice = mesh === 'lattice' || mesh === 'migration';
  const viaPods = mesh !== 'lattice';
  const appMesh = mesh === 'app-mesh' || mesh === 'migration';
  const data = options.datastores;
  const external = options.externalDatastores ?? {};
  const ingressGateway = options.ingressGateway ?? { name: INGRESS_GATEWAY, port: 8088 };
  const latticePort = options.latticeListenerPort ?? 80;
  const mongoPort = data ? (data.mongodbPort ?? 27017) : (external.mongodbPort ?? 27017);
  const redisPort = data ? (data.redisPort ?? 6379) : (external.redisPort ?? 6379);

  defaultDeny(scope, ns);
  allowDns(scope, ns);

  for (const service of model.services) {
    const ingress: k8s.NetworkPolicyIngressRule[] = [];
    const egress: k8s.NetworkPolicyEgressRule[] = [];
    if (service.callers.length > 0) {
      ingress.push({
        from: [
          ...(viaPods
            ? [
                {
                  podSelector: {
                    matchExpressions: [{ key: NAME_LABEL, operator: 'In', values: [...service.callers] }],
                  },
                },
              ]
            : []),
          ...(viaLattice ? [{ ipBlock: { cidr: LATTICE_CIDR } }] : []),
        ],
        ports: [tcp(service.port)],
      });
    }
    if (service.public) {
      ingress.push(publicIngressRule(service, options, mesh, ingressGateway.name));
    }
    // The scraper reaches the port /metrics is on: the public gateway's own metrics port, never its public one.
    ingress.push({
      from: [namespacePeer(options.metricsNamespace)],
      ports: [tcp(service.entry.metricsPort ?? service.port)],
    });

    if (service.dependsOn.length > 0) {
      if (viaLattice) {
        egress.push({ to: [{ ipBlock: { cidr: LATTICE_CIDR } }], ports: [tcp(latticePort)] });
      }
      if (viaPods) {
        for (const dep of service.dependsOn) {
          const target = model.services.find((s) => s.name === dep)!;
          egress.push({
            to: [{ podSelector: { matchLabels: { [NAME_LABEL]: dep } } }],
            ports: [tcp(target.port)],
          });
        }
      }
    }
    egress.push(...datastoreEgress(service, data, external.cidr ?? '0.0.0.0/0', mongoPort, redisPort));
    egress.push({
      to: [
        {
          ...namespacePeer(options.otel.namespace),
          ...(options.otel.podLabels ? { podSelector: { matchLabels: { ...options.otel.podLabels } } } : {}),
        },
      ],
      ports: [tcp(options.otel.port)],
    });
    if (appMesh || (options.signingCallers === true && service.dependsOn.length > 0))
      egress.push(httpsAnywhere());

    new k8s.KubeNetworkPolicy(scope, `netpol-${service.name}`, {
      metadata: { name: `allow-${service.name}`, namespace: ns, labels: { [NAME_LABEL]: service.name } },
      spec: {
        podSelector: { matchLabels: { [NAME_LABEL]: service.name } },
        policyTypes: ['Ingress', 'Egress'],
        ingress,
        egress,
      },
    });
  }

  if (appMesh) {
    const publicService = model.services.find((s) => s.name === model.ingress.service)!;
    new k8s.KubeNetworkPolicy(scope, `netpol-${ingressGateway.name}`, {
      metadata: {
        name: `allow-${ingressGateway.name}`,
        namespace: ns,
        labels: { [NAME_LABEL]: ingressGateway.name },
      },
      spec: {
        podSelector: { matchLabels: { [NAME_LABEL]: ingressGateway.name } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ...publicSource(options), ports: [tcp(ingressGateway.port)] }],
        egress: [
          {
            to: [{ podSelector: { matchLabels: { [NAME_LABEL]: publicService.name } } }],
            ports: [tcp(publicService.port)],
          },
          httpsAnywhere(),
        ],
      },
    });
  }

  if (data) {
    defaultDeny(scope, data.namespace);
    allowDns(scope, data.namespace);
    const stores = [
      {
        store: 'mongodb',
        labels: data.mongodb,
        port: mongoPort,
        users: model.services.filter((s) => s.entry.datastores.includes('mongodb')),
      },
      {
        store: 'redis',
        labels: data.redis,
        port: redisPort,
        users: model.services.filter((s) => usesRedis(s.entry)),
      },
    ];
    for (const { store, labels, port, users } of stores) {
      if (users.length === 0) continue;
      new k8s.KubeNetworkPolicy(scope, `netpol-${data.namespace}-${store}`, {
        metadata: { name: `allow-${store}`, namespace: data.namespace },
        spec: {
          podSelector: { matchLabels: { ...labels } },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [
                {
                  ...namespacePeer(ns),
                  podSelector: {
                    matchExpressions: [{ key: NAME_LABEL, operator: 'In', values: users.map((u) => u.name) }],
                  },
                },
              ],
              ports: [tcp(port)],
            },
          ],
        },
      });
    }
  }
}

function defaultDeny(scope: Construct, namespace: string): void {
  new k8s.KubeNetworkPolicy(scope, `netpol-${namespace}-default-deny`, {
    metadata: { name: 'default-deny', namespace },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  });
}

function allowDns(scope: Construct, namespace: string): void {
  new k8s.KubeNetworkPolicy(scope, `netpol-${namespace}-allow-dns`, {
    metadata: { name: 'allow-dns', namespace },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ...namespacePeer('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
            { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
          ],
        },
      ],
    },
  });
}

function datastoreEgress(
  service: ServicePolicy,
  data: NetworkPolicyOptions['datastores'],
  cidr: string,
  mongoPort: number,
  redisPort: number,
): k8s.NetworkPolicyEgressRule[] {
  const rules: k8s.NetworkPolicyEgressRule[] = [];
  const wants = [
    { on: service.entry.datastores.includes('mongodb'), labels: data?.mongodb, port: mongoPort },
    { on: usesRedis(service.entry), labels: data?.redis, port: redisPort },
  ];
  for (const w of wants) {
    if (!w.on) continue;
    rules.push({
      to:
        data && w.labels
          ? [{ ...namespacePeer(data.namespace), podSelector: { matchLabels: { ...w.labels } } }]
          : [{ ipBlock: { cidr } }],
      ports: [tcp(w.port)],
    });
  }
  return rules;
}

function publicIngressRule(
  service: ServicePolicy,
  options: NetworkPolicyOptions,
  mesh: MeshKind,
  ingressGateway: string,
): k8s.NetworkPolicyIngressRule {
  if (mesh === 'app-mesh') {
    // Under App Mesh the outside world enters through the VirtualGateway's Envoy pods only.
    return {
      from: [{ podSelector: { matchLabels: { [NAME_LABEL]: ingressGateway } } }],
      ports: [tcp(service.port)],
    };
  }
  return { ...publicSource(options), ports: [tcp(service.port)] };
}

function publicSource(options: NetworkPolicyOptions): { from?: k8s.NetworkPolicyPeer[] } {
  const src = options.publicIngress;
  if (!src) return {};
  if ('cidr' in src) return { from: [{ ipBlock: { cidr: src.cidr } }] };
  return {
    from: [
      {
        ...namespacePeer(src.namespace),
        ...(src.podLabels ? { podSelector: { matchLabels: { ...src.podLabels } } } : {}),
      },
    ],
  };
}

function namespacePeer(namespace: string): k8s.NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } };
}

function tcp(port: number): k8s.NetworkPolicyPort {
  return { protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) };
}

function httpsAnywhere(): k8s.NetworkPolicyEgressRule {
  return { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [tcp(443)] };
}
