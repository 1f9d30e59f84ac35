import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  UNSIGNED_PAYLOAD,
  type AwsCredentials,
  type CredentialSource,
  type RequestSigner,
  type SigV4Options,
} from './sigv4.ts';

// Loaded only through `import()` from http-client.ts: this module is where the AWS SDK enters a bundle.

type Bytes = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: Bytes): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 and HMAC-SHA-256 from node:crypto in the SDK's Checksum shape (native: faster than a JS hash). */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: Bytes) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(toBuffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
}

export interface CredentialCacheOptions {
  /** New credentials are fetched once the cached ones expire within this. @default 300_000 (5 min, as the SDK) */
  readonly refreshBeforeMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Caches credentials from `source` and fetches new ones (one fetch however many callers wait) once they are within
 * `refreshBeforeMs` of their expiration. If a refresh fails while the cached credentials are still valid, those are
 * used and the next call tries again; once they have expired the failure is thrown.
 */
export function cachedCredentials(
  source: CredentialSource,
  options: CredentialCacheOptions = {},
): CredentialSource {
  const refreshBeforeMs = options.refreshBeforeMs ?? 300_000;
  const now = options.now ?? Date.now;
  let cached: AwsCredentials | undefined;
  let inFlight: Promise<AwsCredentials> | undefined;
  const fresh = (c: AwsCredentials): boolean =>
    c.expiration === undefined || c.expiration.getTime() - now() > refreshBeforeMs;
  return async (opts) => {
    if (cached && fresh(cached) && opts?.forceRefresh !== true) return cached;
    inFlight ??= source({ forceRefresh: cached !== undefined })
      .then((c) => (cached = c))
      .finally(() => (inFlight = undefined));
    try {
      return await inFlight;
    } catch (err) {
      if (cached?.expiration && cached.expiration.getTime() > now()) return cached;
      throw err;
    }
  };
}

/**
 * The AWS SDK's default credential chain (environment, web identity token file — IRSA —, ECS/EKS container, IMDS),
 * cached with `cachedCredentials`. The SDK reads AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_REGION and
 * AWS_ENDPOINT_URL_STS from the environment the EKS pod identity webhook sets.
 */
export function defaultCredentials(options: CredentialCacheOptions = {}): CredentialSource {
  const chain = fromNodeProviderChain();
  return cachedCredentials((o) => chain({ forceRefresh: o?.forceRefresh ?? false }), options);
}

let shared: CredentialSource | undefined;

/** One default chain per process, so every signing client shares one set of credentials and one STS call. */
export function sharedDefaultCredentials(): CredentialSource {
  shared ??= defaultCredentials();
  return shared;
}

/**
 * Signs each attempt with SigV4 (@smithy/signature-v4, the AWS SDK's signer): a fresh `x-amz-date` every time, the
 * payload declared UNSIGNED-PAYLOAD (VPC Lattice does not support payload signing), every header present signed
 * except the ones the SDK never signs (user-agent, x-amzn-trace-id, ...).
 */
export function createSigV4Signer(options: SigV4Options): RequestSigner {
  const now = options.now ?? Date.now;
  const credentials = options.credentials ?? sharedDefaultCredentials();
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: () => credentials(),
    sha256: NodeSha256,
    applyChecksum: true,
  });
  return {
    async sign(request) {
      const [pathname, search = ''] = request.path.split('?', 2) as [string, string?];
      const query: Record<string, string | string[]> = {};
      for (const [key, value] of new URLSearchParams(search)) {
        const seen = query[key];
        query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
      }
      const [hostname, port] = splitHost(request.host);
      const signed = await signer.sign(
        new HttpRequest({
          method: request.method,
          protocol: request.protocol,
          hostname,
          ...(port === undefined ? {} : { port }),
          path: pathname,
          query,
          headers: { ...request.headers, host: request.host, 'x-amz-content-sha256': UNSIGNED_PAYLOAD },
        }),
        { signingDate: new Date(now()) },
      );
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(signed.headers)) {
        const lower = name.toLowerCase();
        if (request.headers[lower] !== value) headers[lower] = value;
      }
      const canonical = canonicalQuery(query);
      return { path: canonical === '' ? pathname : `${pathname}?${canonical}`, headers };
    },
  };
}

const escape = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The canonical query string of SigV4 (what the signer signs), used as the query that is sent. */
function canonicalQuery(query: Readonly<Record<string, string | string[]>>): string {
  const byKey = (a: [string, string], b: [string, string]): number =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
  return Object.entries(query)
    .map(([key, values]): [string, string] => [
      escape(key),
      (Array.isArray(values) ? values : [values])
        .map((v) => `${escape(key)}=${escape(v)}`)
        .sort()
        .join('&'),
    ])
    .sort(byKey)
    .map(([, pairs]) => pairs)
    .join('&');
}

function splitHost(host: string): [string, number | undefined] {
  const m = /^(.*):(\d+)$/.exec(host);
  return m && !host.endsWith(']') ? [m[1], Number(m[2])] : [host, undefined];
}
