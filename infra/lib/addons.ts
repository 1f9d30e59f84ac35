import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { EksProfileName } from './environments.ts';

/** A platform add-on installed with Helm, at the version and with the values charts/addons pins. */
export interface AddonChart {
  /** Folder of charts/addons holding README.md (the install command, with `--version`) and values.yaml. */
  readonly folder: string;
  readonly chart: string;
  readonly repository: string;
  readonly namespace: string;
  readonly release: string;
  /** The profiles that need it. */
  readonly profiles: readonly EksProfileName[];
}

/**
 * The add-ons of charts/addons the stack installs. Fluentd is not among them: the profiles render their own
 * Fluentd DaemonSet and ADOT collector, and charts/addons/fluentd is an alternative to install instead, never both.
 */
export const ADDONS = {
  appMeshController: {
    folder: 'appmesh-controller',
    chart: 'appmesh-controller',
    repository: 'https://aws.github.io/eks-charts',
    namespace: 'appmesh-system',
    release: 'appmesh-controller',
    profiles: ['eks-appmesh', 'migration'],
  },
  gatewayApiController: {
    folder: 'aws-gateway-api-controller',
    chart: 'aws-gateway-controller-chart',
    repository: 'oci://public.ecr.aws/aws-application-networking-k8s/aws-gateway-controller-chart',
    namespace: 'aws-application-networking-system',
    release: 'gateway-api-controller',
    profiles: ['eks-lattice', 'migration'],
  },
  /**
   * Writes the Route 53 records of the Lattice custom domain names: the Gateway API controller turns each HTTPRoute's
   * hostname into a DNSEndpoint (CNAME to the service's generated Lattice name), ExternalDNS's `crd` source reads it.
   */
  externalDns: {
    folder: 'external-dns',
    chart: 'external-dns',
    repository: 'https://kubernetes-sigs.github.io/external-dns/',
    namespace: 'external-dns',
    release: 'external-dns',
    profiles: ['eks-lattice', 'migration'],
  },
  kubePrometheusStack: {
    folder: 'kube-prometheus-stack',
    chart: 'kube-prometheus-stack',
    repository: 'https://prometheus-community.github.io/helm-charts',
    namespace: 'monitoring',
    release: 'kube-prometheus-stack',
    profiles: ['eks-appmesh', 'eks-lattice', 'migration'],
  },
} as const satisfies Record<string, AddonChart>;

const addonsDir = new URL('../../charts/addons/', import.meta.url);

/** The chart version the add-on's README installs (`helm upgrade --install ... --version X`). */
export function pinnedVersion(addon: AddonChart): string {
  const readme = readFileSync(new URL(`${addon.folder}/README.md`, addonsDir), 'utf8');
  const versions = [...readme.matchAll(/--version\s+(\S+)/g)].map((m) => m[1]);
  if (versions.length !== 1)
    throw new Error(
      `charts/addons/${addon.folder}/README.md: expected exactly one '--version X' in its install command, found ` +
        `${versions.length}; keep one pinned install command there`,
    );
  return versions[0];
}

/** The add-on's values.yaml as an object. */
export function pinnedValues(addon: AddonChart): Record<string, unknown> {
  const text = readFileSync(new URL(`${addon.folder}/values.yaml`, addonsDir), 'utf8');
  return (parse(text) ?? {}) as Record<string, unknown>;
}

/** Deep merge of plain objects (arrays and scalars replace), for putting the stack's values over the pinned ones. */
export function mergeValues(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeValues(current, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Paths of every `<...>` placeholder left in the values: each must be overridden by the stack. */
export function placeholders(values: unknown, path = ''): string[] {
  if (typeof values === 'string') return /<[a-z0-9-]+>/.test(values) ? [path] : [];
  if (Array.isArray(values)) return values.flatMap((v, i) => placeholders(v, `${path}[${i}]`));
  if (isPlainObject(values))
    return Object.entries(values).flatMap(([k, v]) => placeholders(v, path ? `${path}.${k}` : k));
  return [];
}

/** The values to install with: pinned ones, the stack's over them, and no placeholder left. */
export function addonValues(addon: AddonChart, over: Record<string, unknown>): Record<string, unknown> {
  const values = mergeValues(pinnedValues(addon), over);
  const left = placeholders(values);
  if (left.length > 0)
    throw new Error(
      `add-on ${addon.folder}: placeholders left in charts/addons/${addon.folder}/values.yaml at ${left.join(', ')}; ` +
        'set them in infra/lib/constructs/platform-addons.ts',
    );
  return values;
}
