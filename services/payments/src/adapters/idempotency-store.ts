/** The first answer given to an Idempotency-Key, replayed for every repeat. */
export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
}

export type BeginResult =
  /**
   * This caller now runs the request. `resumed`: an earlier run held the key and never finished (its lease ran out), so
   * it may have done part of the work; otherwise the key was never claimed before.
   */
  | { readonly kind: 'started'; readonly resumed: boolean }
  | { readonly kind: 'completed'; readonly response: StoredResponse }
  | { readonly kind: 'in-progress' }
  | { readonly kind: 'mismatch' };

/**
 * Idempotency keys: the first writer of a key wins (unique id) and runs the request; the others see its result,
 * or that it is still running. A claim not completed within `leaseMs` (its holder crashed) can be taken over.
 */
export interface IdempotencyStore {
  begin(key: string, requestHash: string, token: string, leaseMs: number): Promise<BeginResult>;
  /** Stores the answer of a started request (only if `token` still holds the claim). */
  complete(key: string, token: string, response: StoredResponse): Promise<void>;
  /** Forgets a started request that produced nothing to keep (a provider outage), so a retry runs it again. */
  abandon(key: string, token: string): Promise<void>;
  /** Forgets completed keys first used before `before` (in code: FerretDB has no TTL index); returns how many. */
  purgeCompleted(before: Date): Promise<number>;
}
