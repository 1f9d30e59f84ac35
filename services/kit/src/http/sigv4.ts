/**
 * SigV4 request signing for upstreams behind an IAM auth policy (VPC Lattice: service `vpc-lattice-svcs`). This file
 * holds only the types; the signer and the AWS SDK load lazily (`./sigv4-signer.ts`) on the first signed call, so a
 * service whose policy does not ask for signing never loads them.
 */

/** Temporary or long-lived AWS credentials, as the AWS SDK's providers return them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

/** A credential source: `forceRefresh` asks for new credentials even if the source holds unexpired ones. */
export type CredentialSource = (options?: { readonly forceRefresh?: boolean }) => Promise<AwsCredentials>;

export interface SigV4Options {
  /** Signing name of the service, e.g. `vpc-lattice-svcs`. */
  readonly service: string;
  /** Region of the signing scope, e.g. `eu-west-1`. */
  readonly region: string;
  /**
   * Where credentials come from; already cached by the caller.
   * @default the AWS SDK's default chain (IRSA web identity in a pod), shared by every client of the process
   */
  readonly credentials?: CredentialSource;
  /** Clock of the signing date and of the credential cache (ms since the epoch). @default Date.now */
  readonly now?: () => number;
}

/** One request as it will go on the wire: the signer adds headers, it never changes the rest. */
export interface SignableRequest {
  readonly method: string;
  /** `http:` or `https:` */
  readonly protocol: string;
  /** The Host header value: hostname, and `:port` when not the scheme's default. */
  readonly host: string;
  /** Path with its query string, as sent. */
  readonly path: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface SignedParts {
  /**
   * The path to send: the query string rewritten in SigV4's canonical form (sorted, RFC 3986 escapes), so that the
   * verifier canonicalizes exactly the bytes that were signed.
   */
  readonly path: string;
  /** Headers to add: `authorization`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`. */
  readonly headers: Record<string, string>;
}

export interface RequestSigner {
  sign(request: SignableRequest): Promise<SignedParts>;
}

/** The service name VPC Lattice verifies signatures for. */
export const LATTICE_SIGNING_SERVICE = 'vpc-lattice-svcs';

/** Lattice does not support payload signing: every request says so in `x-amz-content-sha256`. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
