import type { Construct } from 'constructs';
import {
  GatewayRoute,
  Mesh,
  MeshSpecEgressFilterType,
  VirtualGateway,
  VirtualGatewaySpecListenersPortMappingProtocol,
  VirtualNode,
  VirtualNodeSpecListenersHealthCheckProtocol,
  VirtualNodeSpecListenersOutlierDetectionBaseEjectionDurationUnit,
  VirtualNodeSpecListenersOutlierDetectionIntervalUnit,
  VirtualNodeSpecListenersPortMappingProtocol,
  VirtualNodeSpecListenersTimeoutHttpPerRequestUnit,
  VirtualNodeSpecListenersTlsMode,
  VirtualRouter,
  VirtualRouterSpecListenersPortMappingProtocol,
  VirtualRouterSpecRoutesHttpRouteMatchMethod,
  VirtualRouterSpecRoutesHttpRouteRetryPolicyHttpRetryEvents,
  VirtualRouterSpecRoutesHttpRouteRetryPolicyPerRetryTimeoutUnit,
  VirtualRouterSpecRoutesHttpRouteRetryPolicyTcpRetryEvents,
  VirtualRouterSpecRoutesHttpRouteTimeoutPerRequestUnit,
  VirtualService,
  type VirtualNodeSpecListenersTls,
  type VirtualRouterSpecRoutes,
  type VirtualRouterSpecRoutesHttpRouteMatchHeaders,
} from '@meshmart/cdk8s/imports/appmesh.k8s.aws.ts';
import {
  type HeaderMatch,
  type ServicePolicy,
  type TlsMode,
  type TrafficModel,
  type TrafficRoute,
} from '../model.ts';
import {
  APP_MESH_EGRESS_IGNORED_PORTS_ANNOTATION,
  APP_MESH_GATEWAY_LABEL,
  APP_MESH_MESH_LABEL,
  APP_MESH_SIDECAR_INJECTOR_LABEL,
  INGRESS_GATEWAY,
  MESH_NAME,
  NAME_LABEL,
  routerName,
  serviceSelector,
  VERSION_LABEL,
  versionedName,
  versionSelector,
} from '../names.ts';

export interface AppMeshOptions {
  /** The cluster-scoped Mesh. @default 'meshmart' */
  readonly meshName?: string;
  /** The ingress VirtualGateway (its Envoy Deployment and Service carry `app.kubernetes.io/name: <this>`). @default 'meshmart-ingress' */
  readonly ingressGatewayName?: string;
  /** Port the ingress Envoy listens on. @default 8088 */
  readonly ingressPort?: number;
  /**
   * `DROP_ALL` makes Envoy drop every destination outside the mesh, datastores and the trace collector included,
   * unless the pods carry `appMeshPodAnnotations(ports)`. With `ALLOW_ALL` the NetworkPolicies keep egress to exactly
   * the model's edges. @default 'ALLOW_ALL'
   */
  readonly egressFilter?: 'ALLOW_ALL' | 'DROP_ALL';
  /**
   * How Envoy finds a VirtualNode's endpoints: `dns` (the `<service>-<version>` Service's cluster name) or AWS Cloud
   * Map (`serviceDiscovery.awsCloudMap`): the App Mesh controller registers each pod as an instance of service
   * `<service>` in `namespaceName`, its labels as attributes, and each VirtualNode selects its version by the
   * `app.kubernetes.io/version` attribute. @default { kind: 'dns' }
   */
  readonly discovery?: AppMeshDiscovery;
}

export type AppMeshDiscovery =
  { readonly kind: 'dns' } | { readonly kind: 'cloudMap'; readonly namespaceName: string };

/** Labels the app Namespace needs under App Mesh: sidecar injection plus membership of the Mesh. */
export function appMeshNamespaceLabels(options: AppMeshOptions = {}): Record<string, string> {
  return {
    [APP_MESH_SIDECAR_INJECTOR_LABEL]: 'enabled',
    [APP_MESH_MESH_LABEL]: options.meshName ?? MESH_NAME,
  };
}

/** Pod annotation that lets traffic to these ports (datastores, trace export) bypass Envoy under `DROP_ALL`. */
export function appMeshPodAnnotations(egressIgnoredPorts: readonly number[]): Record<string, string> {
  return {
    [APP_MESH_EGRESS_IGNORED_PORTS_ANNOTATION]: [...new Set(egressIgnoredPorts)]
      .sort((a, b) => a - b)
      .join(','),
  };
}

/** The in-cluster host a caller uses for a service; App Mesh's Envoy routes on it. */
export function serviceHost(model: TrafficModel, service: string): string {
  return `${service}.${model.namespace}.svc.cluster.local`;
}

/** SPIFFE identity of a workload's service account (SDS certificates from SPIRE). */
export function spiffeId(model: TrafficModel, serviceAccount: string): string {
  return `spiffe://${model.tls.trustDomain}/ns/${model.namespace}/sa/${serviceAccount}`;
}

/**
 * App Mesh v1beta2: Mesh, a VirtualNode per service version, a VirtualService + VirtualRouter (weighted Routes with
 * retries and timeouts) per service, and a VirtualGateway + GatewayRoute for the ingress. App Mesh carries every
 * policy of the model, so nothing is reported.
 */
export function renderAppMesh(scope: Construct, model: TrafficModel, options: AppMeshOptions = {}): void {
  const meshName = options.meshName ?? MESH_NAME;
  const ingressName = options.ingressGatewayName ?? INGRESS_GATEWAY;
  const ingressPort = options.ingressPort ?? 8088;
  const discovery = options.discovery ?? { kind: 'dns' };
  if (
    discovery.kind === 'cloudMap' &&
    !/^[a-z0-9]([a-z0-9.-]{0,1022}[a-z0-9])?$/i.test(discovery.namespaceName)
  )
    throw new Error(
      `renderAppMesh: Cloud Map namespaceName '${discovery.namespaceName}' is not a namespace name; use the name of an existing Cloud Map namespace, e.g. 'meshmart.local'`,
    );
  const ns = model.namespace;
  if (
    model.services.some(
      (s) =>
        s.name === ingressName || s.versions.some((v) => versionedName(s.name, v.version) === ingressName),
    )
  ) {
    throw new Error(
      `renderAppMesh: ingressGatewayName '${ingressName}' collides with a service; choose another name`,
    );
  }

  new Mesh(scope, `mesh-${meshName}`, {
    metadata: { name: meshName },
    spec: {
      namespaceSelector: { matchLabels: { [APP_MESH_MESH_LABEL]: meshName } },
      egressFilter: {
        type:
          options.egressFilter === 'DROP_ALL'
            ? MeshSpecEgressFilterType.DROP_UNDERSCORE_ALL
            : MeshSpecEgressFilterType.ALLOW_UNDERSCORE_ALL,
      },
    },
  });

  for (const service of model.services) {
    for (const version of service.versions) {
      renderVirtualNode(scope, model, service, version.version, ingressName, discovery);
    }
    const router = routerName(service.name);
    new VirtualRouter(scope, `vr-${service.name}`, {
      metadata: { name: router, namespace: ns, labels: serviceSelector(service.name) },
      spec: {
        listeners: [
          {
            portMapping: { port: service.port, protocol: VirtualRouterSpecListenersPortMappingProtocol.HTTP },
          },
        ],
        routes: service.routes.map((route, index) => renderRoute(service, route, index)),
      },
    });
    new VirtualService(scope, `vs-${service.name}`, {
      metadata: { name: service.name, namespace: ns, labels: serviceSelector(service.name) },
      spec: {
        awsName: serviceHost(model, service.name),
        provider: { virtualRouter: { virtualRouterRef: { name: router } } },
      },
    });
  }

  const ingress = model.services.find((s) => s.name === model.ingress.service)!;
  new VirtualGateway(scope, `vg-${ingressName}`, {
    metadata: {
      name: ingressName,
      namespace: ns,
      labels: serviceSelector(ingressName),
    },
    spec: {
      namespaceSelector: { matchLabels: { [APP_MESH_MESH_LABEL]: meshName } },
      podSelector: { matchLabels: { [NAME_LABEL]: ingressName } },
      gatewayRouteSelector: { matchLabels: { [APP_MESH_GATEWAY_LABEL]: ingressName } },
      listeners: [
        { portMapping: { port: ingressPort, protocol: VirtualGatewaySpecListenersPortMappingProtocol.HTTP } },
      ],
      ...(model.tls.mode === 'disabled'
        ? {}
        : { backendDefaults: { clientPolicy: { tls: clientTls(model, ingressName) } } }),
    },
  });
  new GatewayRoute(scope, `gr-${ingress.name}`, {
    metadata: {
      name: `${ingressName}-to-${ingress.name}`,
      namespace: ns,
      labels: { ...serviceSelector(ingress.name), [APP_MESH_GATEWAY_LABEL]: ingressName },
    },
    spec: {
      httpRoute: {
        match: { prefix: '/' },
        action: { target: { virtualService: { virtualServiceRef: { name: ingress.name } } } },
      },
    },
  });
}

function renderVirtualNode(
  scope: Construct,
  model: TrafficModel,
  service: ServicePolicy,
  version: string,
  ingressName: string,
  discovery: AppMeshDiscovery,
): void {
  const name = versionedName(service.name, version);
  const h = service.healthCheck;
  const o = service.outlierDetection;
  // Envoy's listener must allow the slowest route; the routes themselves cut each request shorter.
  const listenerTimeoutMs = Math.max(...service.routes.map((r) => r.timeoutMs));
  const callers: string[] = [...service.callers, ...(service.public ? [ingressName] : [])];
  new VirtualNode(scope, `vn-${name}`, {
    metadata: {
      name,
      namespace: model.namespace,
      labels: versionSelector(service.name, version),
    },
    spec: {
      podSelector: { matchLabels: { [NAME_LABEL]: service.name, [VERSION_LABEL]: version } },
      listeners: [
        {
          portMapping: { port: service.port, protocol: VirtualNodeSpecListenersPortMappingProtocol.HTTP },
          healthCheck: {
            protocol: VirtualNodeSpecListenersHealthCheckProtocol.HTTP,
            path: h.path,
            port: h.port,
            intervalMillis: h.intervalMs,
            timeoutMillis: h.timeoutMs,
            healthyThreshold: h.healthyThreshold,
            unhealthyThreshold: h.unhealthyThreshold,
          },
          outlierDetection: {
            maxServerErrors: o.maxServerErrors,
            interval: { unit: VirtualNodeSpecListenersOutlierDetectionIntervalUnit.MS, value: o.intervalMs },
            baseEjectionDuration: {
              unit: VirtualNodeSpecListenersOutlierDetectionBaseEjectionDurationUnit.MS,
              value: o.baseEjectionMs,
            },
            maxEjectionPercent: o.maxEjectionPercent,
          },
          connectionPool: {
            http: {
              maxConnections: service.connectionPool.maxConnections,
              maxPendingRequests: service.connectionPool.maxPendingRequests,
            },
          },
          timeout: {
            http: {
              perRequest: {
                unit: VirtualNodeSpecListenersTimeoutHttpPerRequestUnit.MS,
                value: listenerTimeoutMs,
              },
            },
          },
          ...(model.tls.mode === 'disabled' ? {} : { tls: listenerTls(model, service.name, callers) }),
        },
      ],
      serviceDiscovery:
        discovery.kind === 'cloudMap'
          ? {
              awsCloudMap: {
                namespaceName: discovery.namespaceName,
                serviceName: service.name,
                attributes: [{ key: VERSION_LABEL, value: version }],
              },
            }
          : { dns: { hostname: `${name}.${model.namespace}.svc.cluster.local` } },
      backends: service.dependsOn.map((dep) => ({ virtualService: { virtualServiceRef: { name: dep } } })),
      ...(model.tls.mode === 'disabled' || service.dependsOn.length === 0
        ? {}
        : { backendDefaults: { clientPolicy: { tls: clientTls(model, service.name) } } }),
    },
  });
}

function renderRoute(service: ServicePolicy, route: TrafficRoute, index: number): VirtualRouterSpecRoutes {
  const retry = route.retry;
  const httpEvents = retry?.events.filter((e) => e !== 'connection-error') ?? [];
  return {
    name: route.name,
    // Model order is match order: App Mesh evaluates the lowest priority number first.
    priority: index * 10,
    httpRoute: {
      match: {
        prefix: route.match.pathPrefix ?? '/',
        ...(route.match.method
          ? { method: route.match.method as VirtualRouterSpecRoutesHttpRouteMatchMethod }
          : {}),
        ...(route.match.headers?.length ? { headers: route.match.headers.map(headerMatch) } : {}),
      },
      action: {
        weightedTargets: service.versions.map((v) => ({
          virtualNodeRef: { name: versionedName(service.name, v.version) },
          weight: v.weight,
          port: service.port,
        })),
      },
      timeout: {
        perRequest: {
          unit: VirtualRouterSpecRoutesHttpRouteTimeoutPerRequestUnit.MS,
          value: route.timeoutMs,
        },
      },
      ...(retry
        ? {
            retryPolicy: {
              maxRetries: retry.maxRetries,
              perRetryTimeout: {
                unit: VirtualRouterSpecRoutesHttpRouteRetryPolicyPerRetryTimeoutUnit.MS,
                value: retry.perTryTimeoutMs,
              },
              ...(httpEvents.length
                ? {
                    httpRetryEvents:
                      httpEvents as VirtualRouterSpecRoutesHttpRouteRetryPolicyHttpRetryEvents[],
                  }
                : {}),
              ...(retry.events.includes('connection-error')
                ? {
                    tcpRetryEvents: [
                      VirtualRouterSpecRoutesHttpRouteRetryPolicyTcpRetryEvents.CONNECTION_HYPHEN_ERROR,
                    ],
                  }
                : {}),
            },
          }
        : {}),
    },
  };
}

function headerMatch(h: HeaderMatch): VirtualRouterSpecRoutesHttpRouteMatchHeaders {
  if ('exact' in h) return { name: h.name, match: { exact: h.exact } };
  if ('regex' in h) return { name: h.name, match: { regex: h.regex } };
  return { name: h.name, match: { regex: '.+' } };
}

const TLS_MODE: Readonly<Record<Exclude<TlsMode, 'disabled'>, VirtualNodeSpecListenersTlsMode>> = {
  permissive: VirtualNodeSpecListenersTlsMode.PERMISSIVE,
  strict: VirtualNodeSpecListenersTlsMode.STRICT,
};

function listenerTls(
  model: TrafficModel,
  serviceAccount: string,
  callers: readonly string[],
): VirtualNodeSpecListenersTls {
  const mode = TLS_MODE[model.tls.mode as Exclude<TlsMode, 'disabled'>];
  return {
    mode,
    certificate: { sds: { secretName: spiffeId(model, serviceAccount) } },
    ...(model.tls.mode === 'strict'
      ? {
          // mTLS: only the model's callers' identities are accepted.
          validation: {
            trust: { sds: { secretName: `spiffe://${model.tls.trustDomain}` } },
            ...(callers.length
              ? { subjectAlternativeNames: { match: { exact: callers.map((c) => spiffeId(model, c)) } } }
              : {}),
          },
        }
      : {}),
  };
}

function clientTls(model: TrafficModel, serviceAccount: string) {
  return {
    enforce: model.tls.mode === 'strict',
    certificate: { sds: { secretName: spiffeId(model, serviceAccount) } },
    validation: { trust: { sds: { secretName: `spiffe://${model.tls.trustDomain}` } } },
  };
}
