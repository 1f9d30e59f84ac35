export {
  CircuitBreaker,
  CircuitOpenError,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitState,
} from './circuit-breaker.ts';
export { fullJitterDelay, parseRetryAfter, type BackoffOptions } from './retry.ts';
export {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpHeaders,
  type HttpMethod,
  type HttpRequestOptions,
  type HttpResponse,
  type QueryValue,
  type RequestShorthandOptions,
} from './http-client.ts';
export * from './upstream-policy.ts';
export {
  LATTICE_SIGNING_SERVICE,
  UNSIGNED_PAYLOAD,
  type AwsCredentials,
  type CredentialSource,
  type RequestSigner,
  type SignableRequest,
  type SigV4Options,
} from './sigv4.ts';
