import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, toProblem } from '@meshmart/kit';
import type { IdempotencyStore, StoredResponse } from '../adapters/idempotency-store.ts';

/** Client errors that a retry may not meet: not kept as the key's answer. */
const TRANSIENT = new Set(['version-conflict']);

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  /** How long a repeat waits for the first request to finish before answering 409. @default 2000 */
  readonly waitMs?: number;
  /** After this, a claim whose holder never finished is taken over. @default 30000 */
  readonly leaseMs?: number;
  /** @default 25 */
  readonly pollMs?: number;
}

export interface IdempotentRequest {
  readonly key: string;
  /** Operation and target, e.g. `capture /payments/p1`. */
  readonly operation: string;
  readonly body: unknown;
  /** The problem's `instance` when a client error is stored. */
  readonly instance: string;
}

export interface IdempotentResult {
  readonly response: StoredResponse;
  readonly replayed: boolean;
}

export function requestHash(operation: string, body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ operation, body: body ?? null }))
    .digest('hex');
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Runs a mutating request once per Idempotency-Key. Its answer, client errors included, is kept and replayed;
 * server errors (an unavailable provider) and transient conflicts keep nothing, so the caller can retry with the
 * same key.
 */
export class Idempotency {
  private readonly waitMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(private readonly options: IdempotencyOptions) {
    this.waitMs = options.waitMs ?? 2000;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 25;
  }

  /** `execute` learns whether an earlier run of this request held the key and never finished (`resumed`). */
  async run(
    request: IdempotentRequest,
    execute: (run: { readonly resumed: boolean }) => Promise<StoredResponse>,
  ): Promise<IdempotentResult> {
    const { store } = this.options;
    const hash = requestHash(request.operation, request.body);
    const token = randomUUID();
    const deadline = performance.now() + this.waitMs;
    let resumed: boolean | undefined;
    for (;;) {
      const begun = await store.begin(request.key, hash, token, this.leaseMs);
      if (begun.kind === 'mismatch') {
        throw new AppError(
          422,
          'idempotency-key-reused',
          'this Idempotency-Key was already used for a different request',
        );
      }
      if (begun.kind === 'completed') return { response: begun.response, replayed: true };
      if (begun.kind === 'started') {
        resumed = begun.resumed;
        break;
      }
      if (performance.now() >= deadline) {
        throw new AppError(
          409,
          'request-in-progress',
          'a request with this Idempotency-Key is still being processed; retry later',
          { headers: { 'retry-after': '1' } },
        );
      }
      await sleep(this.pollMs);
    }
    let response: StoredResponse;
    try {
      response = await execute({ resumed: resumed === true });
    } catch (err) {
      if (err instanceof AppError && err.status < 500 && !TRANSIENT.has(err.code)) {
        response = { status: err.status, body: toProblem(err, request.instance) };
      } else {
        await store.abandon(request.key, token);
        throw err;
      }
    }
    await store.complete(request.key, token, response);
    return { response, replayed: false };
  }
}
