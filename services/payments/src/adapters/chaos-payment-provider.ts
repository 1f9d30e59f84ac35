import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@meshmart/kit';
import type { AuthorizationRequest, AuthorizationResult, PaymentProvider } from './payment-provider.ts';

export const FAILURE_STATUSES = [500, 502, 503, 504] as const;
export type FailureStatus = (typeof FAILURE_STATUSES)[number];

export interface ChaosSettings {
  readonly latencyMs: number;
  /** Fraction of provider calls that fail, 0..1. */
  readonly failureRate: number;
  /** HTTP status answered for an injected failure. */
  readonly failureStatus: FailureStatus;
}

export const NO_CHAOS: ChaosSettings = Object.freeze({ latencyMs: 0, failureRate: 0, failureStatus: 503 });

/** Chaos knobs changed at run time (the /chaos endpoints) and read by every provider call. */
export class Chaos {
  private current: ChaosSettings;

  constructor(
    initial: ChaosSettings = NO_CHAOS,
    private readonly random: () => number = Math.random,
  ) {
    this.current = Object.freeze({ ...initial });
  }

  get settings(): ChaosSettings {
    return this.current;
  }

  set(patch: Partial<ChaosSettings>): ChaosSettings {
    this.current = Object.freeze({ ...this.current, ...patch });
    return this.current;
  }

  /** Back to no injected latency or failures (not to the start-up settings: DELETE means "stop the chaos"). */
  reset(): ChaosSettings {
    this.current = NO_CHAOS;
    return this.current;
  }

  /** Sleeps for the injected latency, then throws the injected failure if the dice say so. */
  async apply(operation: string): Promise<void> {
    const { latencyMs, failureRate, failureStatus } = this.current;
    if (latencyMs > 0) await sleep(latencyMs);
    if (failureRate > 0 && this.random() < failureRate) {
      throw new AppError(
        failureStatus,
        'provider-unavailable',
        `the payment provider failed the ${operation} (injected failure); retry with the same Idempotency-Key`,
        { extensions: { injected: true } },
      );
    }
  }
}

/** Wraps any provider with the chaos knobs: latency first, then a possible failure before the real call. */
export class ChaosPaymentProvider implements PaymentProvider {
  constructor(
    private readonly inner: PaymentProvider,
    private readonly chaos: Chaos,
  ) {}

  async authorize(request: AuthorizationRequest): Promise<AuthorizationResult> {
    await this.chaos.apply('authorization');
    return this.inner.authorize(request);
  }

  async capture(paymentId: string, amountCents: number): Promise<void> {
    await this.chaos.apply('capture');
    return this.inner.capture(paymentId, amountCents);
  }

  async void(paymentId: string): Promise<void> {
    await this.chaos.apply('void');
    return this.inner.void(paymentId);
  }

  async refund(paymentId: string, amountCents: number): Promise<void> {
    await this.chaos.apply('refund');
    return this.inner.refund(paymentId, amountCents);
  }
}
