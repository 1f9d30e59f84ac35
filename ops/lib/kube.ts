import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
} from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';

/** A Kubernetes object as plain JSON (what the manifests hold and what the API returns). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubeOptions {
  /** Path of a kubeconfig file. @default $KUBECONFIG, else ~/.kube/config or the in-cluster service account */
  readonly kubeconfig?: string;
  /** @default the kubeconfig's current context */
  readonly context?: string;
  /** Where `$KUBECONFIG` and the home directory come from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The kubeconfig is missing, unreadable or names no cluster; the message says what to do. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

/** The API server could not be reached or refused the credentials; the message says what to check. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

const POINT_AT_A_CLUSTER =
  'point at your cluster: kind: `kind export kubeconfig --name meshmart` (make kind-up does it); ' +
  'EKS: `aws eks update-kubeconfig --name <cluster> --region <region>`; or pass --kubeconfig FILE';
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads the kubeconfig the way kubectl finds it — --kubeconfig, else every file of $KUBECONFIG, else ~/.kube/config,
 * else the pod's service account — and fails with what to do instead of the client's own fallback: with nothing
 * found it would talk to http://localhost:8080 (the gateway's port on a developer's machine), and a stale path is a
 * bare ENOENT.
 */
export function loadKubeconfig(options: KubeOptions = {}): { config: KubeConfig; source: string } {
  const env = options.env ?? process.env;
  const config = new KubeConfig();
  const read = (file: string, into: KubeConfig, origin: string): void => {
    try {
      into.loadFromFile(file);
    } catch (err) {
      throw new KubeconfigError(`cannot read the kubeconfig ${file} (${origin}): ${(err as Error).message}`);
    }
  };
  let source: string;
  if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig))
      throw new KubeconfigError(
        `the kubeconfig ${options.kubeconfig} (--kubeconfig) does not exist; ${POINT_AT_A_CLUSTER}`,
      );
    read(options.kubeconfig, config, '--kubeconfig');
    source = options.kubeconfig;
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
    // Like kubectl: files of the list that do not exist are skipped, but at least one must.
    const found = files.filter((f) => existsSync(f));
    if (found.length === 0)
      throw new KubeconfigError(
        `$KUBECONFIG names ${files.join(delimiter)}, which does not exist (a stale path? unset it or fix it); ${POINT_AT_A_CLUSTER}`,
      );
    read(found[0], config, '$KUBECONFIG');
    for (const file of found.slice(1)) {
      const more = new KubeConfig();
      read(file, more, '$KUBECONFIG');
      config.mergeConfig(more);
    }
    source = found.join(delimiter);
  } else {
    const home = env.HOME ?? homedir();
    const file = join(home, '.kube', 'config');
    if (existsSync(file)) {
      read(file, config, 'the default');
      source = file;
    } else if (existsSync(SERVICE_ACCOUNT_TOKEN) && env.KUBERNETES_SERVICE_HOST) {
      config.loadFromCluster();
      source = 'the pod service account';
    } else {
      throw new KubeconfigError(
        `no kubeconfig: --kubeconfig is not given, $KUBECONFIG is not set and ${file} does not exist; ${POINT_AT_A_CLUSTER}`,
      );
    }
  }
  const contexts = config.getContexts().map((c) => c.name);
  if (options.context) {
    if (!contexts.includes(options.context))
      throw new KubeconfigError(
        `the kubeconfig ${source} has no context '${options.context}'; its contexts: ${contexts.join(', ') || 'none'}`,
      );
    config.setCurrentContext(options.context);
  }
  if (!config.getCurrentCluster()?.server)
    throw new KubeconfigError(
      `the kubeconfig ${source} names no current cluster: pass --context (${contexts.join(', ') || 'it has no contexts'}) or run \`kubectl config use-context <name>\``,
    );
  return { config, source };
}

/** `Kind namespace/name` (or `Kind name` when cluster-scoped): how every message names an object. */
export function describe(o: Pick<KubeObject, 'kind' | 'metadata'>): string {
  const ns = o.metadata.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata.name}`;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

/** The Kubernetes Status an API error carries, if any. */
export interface ApiStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message: string;
}

export function apiStatus(err: unknown): ApiStatus | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body = (typeof err.body === 'string' ? safeJson(err.body) : err.body) as
    { message?: string; reason?: string } | undefined;
  return {
    code: err.code,
    ...(body?.reason ? { reason: body.reason } : {}),
    message: body?.message ?? (typeof err.body === 'string' && err.body ? err.body : `HTTP ${err.code}`),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isNotFound(err: unknown): boolean {
  return apiStatus(err)?.code === 404;
}

/** The server's words for an error, e.g. `422 Invalid: Deployment.apps "x" is invalid: ...`. */
export function errorMessage(err: unknown): string {
  const status = apiStatus(err);
  if (status) return `${status.code}${status.reason ? ` ${status.reason}` : ''}: ${status.message}`;
  if (!(err instanceof Error)) return String(err);
  // fetch failures hide the reason (ECONNREFUSED, a certificate error) in their cause chain.
  const causes: string[] = [];
  for (let c: unknown = err.cause; c instanceof Error && causes.length < 3; c = c.cause)
    causes.push(c.message);
  return causes.length ? `${err.message} (${causes.join(': ')})` : err.message;
}

/** An API call about one object failed; the message names the object and quotes the server. */
export class ObjectError extends Error {
  constructor(
    readonly object: Pick<KubeObject, 'kind' | 'metadata'>,
    readonly action: string,
    override readonly cause: unknown,
  ) {
    super(`${action} ${describe(object)}: ${errorMessage(cause)}`);
  }

  get status(): ApiStatus | undefined {
    return apiStatus(this.cause);
  }
}

/** What went wrong talking to the API server, in words, with what to check. */
export function connectionAdvice(err: unknown): string {
  const status = apiStatus(err);
  if (status?.code === 401)
    return `401 Unauthorized: the credentials were rejected. Refresh them (EKS: \`aws eks update-kubeconfig\` and \`aws sts get-caller-identity\`; kind: \`kind export kubeconfig --name meshmart\`)`;
  if (status?.code === 403) return `403 Forbidden: ${status.message}. Ask for access to the cluster`;
  if (status) return errorMessage(err);
  const codes: string[] = [];
  for (let c: unknown = err; c instanceof Error && codes.length < 5; c = c.cause) {
    const code = (c as NodeJS.ErrnoException).code;
    if (code) codes.push(code);
  }
  const text = errorMessage(err);
  if (codes.includes('ECONNREFUSED'))
    return 'connection refused: nothing listens there. Is the cluster running (kind: `kind get clusters`, `make kind-up`)? Is it the cluster you meant (--context, --kubeconfig)?';
  if (codes.includes('ENOTFOUND') || codes.includes('EAI_AGAIN'))
    return `the host name does not resolve (${text}). Check the server address in the kubeconfig, your DNS or VPN`;
  if (codes.some((c) => c.startsWith('ETIMEDOUT') || c === 'EHOSTUNREACH' || c === 'ENETUNREACH'))
    return `no route or no answer (${text}). EKS: a private endpoint is reachable only from inside the VPC (a VPN or a bastion)`;
  if (/certificate|self[- ]signed|SSL|TLS/i.test(text))
    return `TLS failed (${text}). The kubeconfig's certificate-authority does not match the server: fetch the kubeconfig again`;
  return `${text}. Check the server address and credentials in the kubeconfig`;
}

const passThrough = {
  serialize: (data: unknown) => data,
  deserialize: (data: unknown) => data,
};
const registered = new Set<string>();

/**
 * The generic client serializes built-in kinds through its generated models, which silently drop fields they do not
 * know (a typo, or a field newer than the client). Objects are sent and read as plain JSON instead, so the API server
 * sees exactly the manifest and rejects what it should.
 */
function plainJson(apiVersion: string, kind: string): void {
  const key = `${apiVersion}/${kind}`;
  if (registered.has(key)) return;
  registered.add(key);
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  try {
    ObjectSerializer.registerModel({ group: group, version: version, kind }, passThrough);
  } catch {
    // Another copy of this module registered the kind first: it is a pass-through too.
  }
}

export interface ApplyOptions {
  readonly fieldManager: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

/** Thin typed wrapper over KubernetesObjectApi: plain JSON in and out, server-side apply, errors naming the object. */
export class Kube {
  readonly config: KubeConfig;
  readonly api: KubernetesObjectApi;

  /** Where the kubeconfig came from, for messages. */
  readonly source: string;

  /** Throws a KubeconfigError saying what to do when no usable kubeconfig is found. */
  constructor(options: KubeOptions = {}) {
    const { config, source } = loadKubeconfig(options);
    this.config = config;
    this.source = source;
    this.api = KubernetesObjectApi.makeApiClient(this.config);
  }

  /** The API server's URL, for messages. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '(no cluster in kubeconfig)';
  }

  /**
   * Asks the API server for its version before anything else, so that an unreachable server or rejected credentials
   * stop a tool before its first change with what to check, instead of in the middle of a run. Returns e.g. `v1.36.3`.
   */
  async check(timeoutMs = 10_000): Promise<string> {
    const where = `the API server ${this.server} (context ${this.config.getCurrentContext()}, kubeconfig ${this.source})`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const version = await Promise.race([
        this.config.makeApiClient(VersionApi).getCode(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        }),
      ]);
      return version.gitVersion;
    } catch (err) {
      throw new ConnectionError(`cannot use ${where}: ${connectionAdvice(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async apply(object: KubeObject, options: ApplyOptions): Promise<KubeObject> {
    plainJson(object.apiVersion, object.kind);
    try {
      return await this.api.patch(
        object,
        undefined,
        options.dryRun ? 'All' : undefined,
        options.fieldManager,
        options.force ?? false,
        PatchStrategy.ServerSideApply,
      );
    } catch (err) {
      throw new ObjectError(object, options.dryRun ? 'apply (dry run)' : 'apply', err);
    }
  }

  /** JSON merge patch; with `metadata.resourceVersion` in the patch it only succeeds on that version (409 otherwise). */
  async mergePatch(object: KubeObject, fieldManager: string): Promise<KubeObject> {
    plainJson(object.apiVersion, object.kind);
    try {
      return await this.api.patch(
        object,
        undefined,
        undefined,
        fieldManager,
        undefined,
        PatchStrategy.MergePatch,
      );
    } catch (err) {
      throw new ObjectError(object, 'patch', err);
    }
  }

  /** The object, or undefined when it does not exist. */
  async read(ref: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<KubeObject | undefined> {
    plainJson(ref.apiVersion, ref.kind);
    try {
      return await this.api.read<KubeObject>({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: {
          name: ref.metadata.name,
          ...(ref.metadata.namespace ? { namespace: ref.metadata.namespace } : {}),
        },
      });
    } catch (err) {
      // A kind the server does not serve (its CRD is not installed) has no objects either.
      if (
        isNotFound(err) ||
        (err instanceof Error && err.message.startsWith('Unrecognized API version and kind'))
      )
        return undefined;
      throw new ObjectError(ref, 'read', err);
    }
  }

  /** Deletes in the background; false when it was already gone. */
  async delete(ref: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>, dryRun = false): Promise<boolean> {
    plainJson(ref.apiVersion, ref.kind);
    try {
      await this.api.delete(
        { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { ...ref.metadata } },
        undefined,
        dryRun ? 'All' : undefined,
        undefined,
        undefined,
        'Background',
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw new ObjectError(ref, dryRun ? 'delete (dry run)' : 'delete', err);
    }
  }
}
