import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
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

  constructor(options: KubeOptions = {}) {
    this.config = new KubeConfig();
    const file = options.kubeconfig ?? process.env.KUBECONFIG;
    if (file) this.config.loadFromFile(file);
    else this.config.loadFromDefault();
    if (options.context) this.config.setCurrentContext(options.context);
    this.api = KubernetesObjectApi.makeApiClient(this.config);
  }

  /** The API server's URL, for messages. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '(no cluster in kubeconfig)';
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
