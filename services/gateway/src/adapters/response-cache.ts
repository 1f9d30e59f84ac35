/** A cached upstream answer, stored serialised so a hit is sent without re-encoding. */
export interface CachedResponse {
  readonly status: number;
  readonly body: string;
  /** Strong validator: a hash of the body bytes. */
  readonly etag: string;
}

/**
 * The gateway's shared cache of public catalog reads. Keys carry a generation: `purge()` moves to the next one, so
 * every earlier entry is unreachable at once and simply expires.
 */
export interface ResponseCache {
  get(key: string): Promise<CachedResponse | undefined>;
  set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void>;
  purge(): Promise<void>;
}
