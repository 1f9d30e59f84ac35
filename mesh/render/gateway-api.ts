import type { Construct } from 'constructs';
import {
  IamAuthPolicy,
  TargetGroupPolicy,
  TargetGroupPolicySpecHealthCheckProtocol,
  TargetGroupPolicySpecHealthCheckProtocolVersion,
} from '@meshmart/cdk8s/imports/application-networking.k8s.aws.ts';
import {
  Gateway,
  HttpRoute,
  HttpRouteSpecRulesMatchesHeadersType,
  HttpRouteSpecRulesMatchesMethod,
  HttpRouteSpecRulesMatchesPathType,
  type HttpRouteSpecRules,
} from '@meshmart/cdk8s/imports/gateway.networking.k8s.io.ts';
import type { ServiceName } from '@meshmart/catalogue';
import { isReadRoute, upstreamEnvPrefix, upstreamSettings } from '../client-policy.ts';
import type { ServicePolicy, TrafficModel, TrafficRoute } from '../model.ts';
import { GATEWAY_NAME, LATTICE_READINESS_GATE_LABEL, serviceSelector, versionedName } from '../names.ts';

export interface GatewayApiOptions {
  /**
   * IAM principal (the IRSA role ARN) a service's pods sign Lattice requests with; IAMAuthPolicy allows exactly the
   * callers' principals. Convention: `arn:aws:iam::<account>:role/<prefix><service>`, the role annotated on the
   * service's ServiceAccount (`eks.amazonaws.com/role-arn`).
   */
  readonly principal: (service: ServiceName) => string;
  /** The Gateway, i.e. the VPC Lattice service network. @default 'meshmart' */
  readonly gatewayName?: string;
  /** @default the model's namespace */
  readonly gatewayNamespace?: string;
  /** @default 'amazon-vpc-lattice' */
  readonly gatewayClassName?: string;
  /** Port of the Gateway's HTTP listener (what callers dial). @default 80 */
  readonly listenerPort?: number;
  /** With a suffix, each route gets the custom domain `<service>.<suffix>` (needs a DNS record). @default none */
  readonly hostnameSuffix?: string;
}

/** Namespace label that makes the controller add Lattice readiness gates to pods. */
export function latticeNamespaceLabels(): Record<string, string> {
  return { [LATTICE_READINESS_GATE_LABEL]: 'enabled' };
}

export interface NotCarriedItem {
  readonly service: string;
  /** Route name, or undefined for a service-wide policy. */
  readonly route?: string | undefined;
  /** What the model asks for, e.g. `retries: 2 x 700 ms on server-error, gateway-error, connection-error`. */
  readonly policy: string;
  /** Why Lattice cannot carry it. */
  readonly reason: string;
  /** Where it is enforced instead. */
  readonly enforcedBy: string;
}

export interface NotCarriedReport {
  readonly items: readonly NotCarriedItem[];
  /** The items as a Markdown document (LATTICE-REPORT.md). */
  readonly markdown: string;
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/**
 * Gateway API + AWS Gateway API Controller (VPC Lattice): a Gateway (the service network), an HTTPRoute per called
 * service with weighted backendRefs to the per-version Services, a TargetGroupPolicy health check per version
 * Service, an IAMAuthPolicy per route allowing exactly the callers. Returns every model policy Lattice cannot carry.
 */
export function renderGatewayApi(
  scope: Construct,
  model: TrafficModel,
  options: GatewayApiOptions,
): NotCarriedReport {
  const gatewayName = options.gatewayName ?? GATEWAY_NAME;
  const gatewayNamespace = options.gatewayNamespace ?? model.namespace;
  const listenerPort = options.listenerPort ?? 80;
  if (!Number.isInteger(listenerPort) || listenerPort < 1 || listenerPort > 65535) {
    throw new Error(`renderGatewayApi: listenerPort ${listenerPort} must be a port from 1 to 65535`);
  }
  const ns = model.namespace;

  new Gateway(scope, `gateway-${gatewayName}`, {
    metadata: { name: gatewayName, namespace: gatewayNamespace },
    spec: {
      gatewayClassName: options.gatewayClassName ?? 'amazon-vpc-lattice',
      listeners: [{ name: 'http', protocol: 'HTTP', port: listenerPort }],
    },
  });

  for (const service of model.services) {
    const labels = serviceSelector(service.name);
    for (const v of service.versions) {
      const target = versionedName(service.name, v.version);
      const h = service.healthCheck;
      new TargetGroupPolicy(scope, `tgp-${target}`, {
        metadata: { name: target, namespace: ns, labels },
        spec: {
          targetRef: { group: '', kind: 'Service', name: target },
          protocol: 'HTTP',
          protocolVersion: 'HTTP1',
          healthCheck: {
            enabled: true,
            path: h.path,
            port: h.port,
            protocol: TargetGroupPolicySpecHealthCheckProtocol.HTTP,
            protocolVersion: TargetGroupPolicySpecHealthCheckProtocolVersion.HTTP1,
            // The model keeps these in whole seconds (checked at construction), so nothing is rounded.
            intervalSeconds: h.intervalMs / 1_000,
            timeoutSeconds: h.timeoutMs / 1_000,
            healthyThresholdCount: h.healthyThreshold,
            unhealthyThresholdCount: h.unhealthyThreshold,
            statusMatch: '200',
          },
        },
      });
    }

    if (service.callers.length === 0) continue;
    const rules = service.routes.filter(carriedRoute).map((route) => renderRule(service, route));

    new HttpRoute(scope, `httproute-${service.name}`, {
      metadata: { name: service.name, namespace: ns, labels },
      spec: {
        parentRefs: [{ name: gatewayName, namespace: gatewayNamespace, sectionName: 'http' }],
        ...(options.hostnameSuffix ? { hostnames: [`${service.name}.${options.hostnameSuffix}`] } : {}),
        rules,
      },
    });

    new IamAuthPolicy(scope, `iamauth-${service.name}`, {
      metadata: { name: service.name, namespace: ns, labels },
      spec: {
        targetRef: { group: GATEWAY_GROUP, kind: 'HTTPRoute', name: service.name },
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: `callers-of-${service.name}`,
              Effect: 'Allow',
              Principal: { AWS: service.callers.map((c) => options.principal(c)) },
              Action: 'vpc-lattice-svcs:Invoke',
              Resource: '*',
            },
          ],
        }),
      },
    });
  }

  return notCarriedReport(model);
}

/** Every model policy Lattice cannot carry, per service and route, and where it is enforced instead. Pure. */
export function notCarriedReport(model: TrafficModel): NotCarriedReport {
  const items: NotCarriedItem[] = [];
  for (const service of model.services) {
    if (service.callers.length === 0) {
      items.push(...ingressItems(model, service));
      continue;
    }
    for (const route of service.routes) {
      if (!carriedRoute(route)) {
        const unsupported = (route.match.headers ?? []).filter((h) => !('exact' in h));
        items.push({
          service: service.name,
          route: route.name,
          policy: `header match ${unsupported.map((h) => `'${h.name}' ${'regex' in h ? `~ /${h.regex}/` : 'present'}`).join(', ')}`,
          reason:
            'Lattice matches headers by Exact value only; the rule is left out and its requests take the next rule',
          enforcedBy: 'the kit HTTP client, which retries a write only when it carries an Idempotency-Key',
        });
      }
      items.push(...routeItems(service, route));
    }
    items.push(...serviceItems(model, service));
  }
  return { items, markdown: notCarriedMarkdown(model, items) };
}

/** Lattice takes path prefix, method and Exact header matches only. */
export function carriedRoute(route: TrafficRoute): boolean {
  return (route.match.headers ?? []).every((h) => 'exact' in h);
}

function renderRule(service: ServicePolicy, route: TrafficRoute): HttpRouteSpecRules {
  const headers = (route.match.headers ?? []).flatMap((h) =>
    'exact' in h ? [{ type: HttpRouteSpecRulesMatchesHeadersType.EXACT, name: h.name, value: h.exact }] : [],
  );
  return {
    // Lattice takes one match per rule: path prefix, method and up to 5 exact headers.
    matches: [
      {
        path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: route.match.pathPrefix ?? '/' },
        ...(route.match.method ? { method: route.match.method as HttpRouteSpecRulesMatchesMethod } : {}),
        ...(headers.length ? { headers } : {}),
      },
    ],
    backendRefs: service.versions.map((v) => ({
      kind: 'Service',
      name: versionedName(service.name, v.version),
      port: service.port,
      weight: v.weight,
    })),
    // Standard field, honoured by other Gateway API implementations (kind); Lattice ignores it (reported).
    timeouts: { request: `${route.timeoutMs}ms` },
  };
}

function clientVars(service: ServicePolicy, keys: readonly string[]): string {
  const settings = upstreamSettings(service);
  const vars = keys.map((k) => `\`${upstreamEnvPrefix(service.name)}${k}=${settings[k]}\``).join(', ');
  return `the kit HTTP client of ${service.callers.join(', ')} (${vars})`;
}

function routeItems(service: ServicePolicy, route: TrafficRoute): NotCarriedItem[] {
  const items: NotCarriedItem[] = [];
  const isRead = isReadRoute(service, route);
  items.push({
    service: service.name,
    route: route.name,
    policy: `timeout ${route.timeoutMs} ms`,
    reason: 'Lattice ignores HTTPRoute timeouts (rendered for other Gateway API implementations)',
    enforcedBy: clientVars(service, [isRead ? 'TIMEOUT_MS' : 'WRITE_TIMEOUT_MS']),
  });
  if (route.retry) {
    items.push({
      service: service.name,
      route: route.name,
      policy: `retries: ${route.retry.maxRetries} x ${route.retry.perTryTimeoutMs} ms on ${route.retry.events.join(', ')}`,
      reason: 'Lattice has no retry policy (the standard channel has none either)',
      enforcedBy: clientVars(
        service,
        isRead ? ['RETRIES', 'ATTEMPT_TIMEOUT_MS'] : ['WRITE_RETRIES', 'WRITE_ATTEMPT_TIMEOUT_MS'],
      ),
    });
  }
  return items;
}

function serviceItems(model: TrafficModel, service: ServicePolicy): NotCarriedItem[] {
  const o = service.outlierDetection;
  const items: NotCarriedItem[] = [
    {
      service: service.name,
      policy: `outlier detection: eject after ${o.maxServerErrors} server errors for ${o.baseEjectionMs} ms (at most ${o.maxEjectionPercent}% of hosts)`,
      reason: 'Lattice has no outlier detection; it only drops targets that fail the health check',
      enforcedBy: `${clientVars(service, ['BREAKER_FAILURE_THRESHOLD', 'BREAKER_OPEN_MS'])}: a circuit breaker per upstream`,
    },
    {
      service: service.name,
      policy: `connection pool: ${service.connectionPool.maxConnections} connections, ${service.connectionPool.maxPendingRequests} pending requests`,
      reason: 'Lattice has no per-target connection limits',
      enforcedBy: `${clientVars(service, ['CONNECTIONS'])}; pending requests are bounded by the call deadline`,
    },
  ];
  if (model.tls.mode !== 'disabled') {
    items.push({
      service: service.name,
      policy: `TLS ${model.tls.mode} (mTLS with SPIFFE identities)`,
      reason: 'Lattice has no mTLS between workloads',
      enforcedBy:
        "IAMAuthPolicy (SigV4-signed requests from the callers' IRSA roles) for identity; Lattice encrypts in transit with an HTTPS listener and an ACM certificate",
    });
  }
  return items;
}

function ingressItems(model: TrafficModel, service: ServicePolicy): NotCarriedItem[] {
  if (service.name !== model.ingress.service) {
    return [
      {
        service: service.name,
        policy: 'routes, weights and policies',
        reason: 'no service in the catalogue calls it, so there is no Lattice service to render',
        enforcedBy: 'nothing needed',
      },
    ];
  }
  const weights = service.versions.map((v) => `${v.version} ${v.weight}%`).join(', ');
  return [
    {
      service: service.name,
      policy: 'ingress (App Mesh VirtualGateway + GatewayRoute)',
      reason: 'VPC Lattice is not internet-facing; the public service gets no HTTPRoute',
      enforcedBy: `an internet-facing ALB/NLB (AWS Load Balancer Controller) in front of Service ${service.name}`,
    },
    ...(service.versions.length > 1
      ? [
          {
            service: service.name,
            policy: `canary weights ${weights}`,
            reason: 'the ingress does not pass through Lattice',
            enforcedBy: 'the load balancer (ALB weighted target groups) or the per-version replica counts',
          },
        ]
      : []),
    {
      service: service.name,
      policy: `route timeouts and retries (${service.routes.map((r) => `${r.name} ${r.timeoutMs} ms`).join(', ')})`,
      reason: 'no mesh proxy in front of the public service',
      enforcedBy:
        'the load balancer idle timeout and the browser/API client; the gateway sets its own deadlines',
    },
  ];
}

function notCarriedMarkdown(model: TrafficModel, items: readonly NotCarriedItem[]): string {
  const lines = [
    '# What VPC Lattice does not carry',
    '',
    `Traffic model of namespace \`${model.namespace}\` rendered for the Gateway API with the AWS Gateway API Controller.`,
    'Each policy below is in the model but has no VPC Lattice equivalent; the last column says where it is enforced',
    "instead. The kit's HTTP client reads the `UPSTREAM_<NAME>_*` variables in each caller's environment.",
    '',
    "Identity is carried: each HTTPRoute's IAMAuthPolicy admits only its callers' IRSA roles, and the kit's HTTP",
    'client signs every call with SigV4 for `vpc-lattice-svcs` (`UPSTREAM_<NAME>_SIGV4_SERVICE`, `_SIGV4_REGION`),',
    'with the `UNSIGNED-PAYLOAD` body hash Lattice requires and credentials from the web identity token (STS).',
    '',
  ];
  for (const service of model.services) {
    const mine = items.filter((i) => i.service === service.name);
    if (mine.length === 0) continue;
    lines.push(
      `## ${service.name}`,
      '',
      '| route | policy | why not in Lattice | enforced by |',
      '|---|---|---|---|',
    );
    for (const i of mine) {
      lines.push(
        `| ${i.route ?? '(service)'} | ${cell(i.policy)} | ${cell(i.reason)} | ${cell(i.enforcedBy)} |`,
      );
    }
    lines.push('');
  }
  lines.push(`${items.length} policies not carried by Lattice.`, '');
  return lines.join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
