import { checkoutApi } from '@meshmart/contracts';

/** The persisted saga log: what ran, how often, what failed, and what is left. */
export type SagaStatus = checkoutApi.SagaStatus;
export const SAGA_STATUSES: readonly SagaStatus[] = checkoutApi.SAGA_STATUSES;
export const ACTIVE_STATUSES: readonly SagaStatus[] = ['RUNNING', 'COMPENSATING'];

export type StepStatus =
  | 'PENDING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'SKIPPED'
  | 'COMPENSATING'
  | 'COMPENSATED'
  | 'COMPENSATION_FAILED';

export interface StepError {
  readonly kind: 'business' | 'transient';
  readonly code: string;
  readonly message: string;
}

export interface StepState {
  readonly name: string;
  status: StepStatus;
  attempts: number;
  compensationAttempts: number;
  startedAt?: string;
  finishedAt?: string;
  error?: StepError;
  compensationError?: StepError;
}

export interface LogEntry {
  readonly at: string;
  readonly event: string;
  readonly step?: string;
  readonly attempt?: number;
  readonly detail?: string;
}

export interface Lease {
  readonly owner: string;
  /** Epoch milliseconds; another engine may take the saga over after this. */
  readonly until: number;
  /** Bumped by each takeover; only one engine can claim a generation (a unique insert, not a racy update). */
  readonly generation: number;
}

export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

export interface Saga<C = Record<string, unknown>> {
  readonly id: string;
  readonly definition: string;
  readonly idempotencyKey: string;
  readonly userId: string;
  readonly orderId: string;
  status: SagaStatus;
  context: C;
  steps: StepState[];
  log: LogEntry[];
  reason?: string;
  lease: Lease | null;
  /** The starting request's trace context, so participant calls join its trace even after a restart. */
  readonly trace: TraceCarrier;
  readonly createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

export function isTerminal(status: SagaStatus): boolean {
  return status === 'COMPLETED' || status === 'COMPENSATED' || status === 'FAILED';
}
