import type { CallOptions, ParticipantName, Participants } from '../adapters/participants.ts';
import type { Saga, StepError, StepState } from './saga.ts';

/**
 * A saga as data: ordered steps, each an action (participant calls) with an optional compensation and a retry policy.
 * The engine interprets it; the decisions (what next, retry or compensate, how long to wait) are the pure functions
 * below, so they are tested without any participant.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/** What a call's input builder sees besides the context. */
export interface CallMeta {
  readonly sagaId: string;
  readonly step: string;
  /** Why the saga is compensating, once it is. */
  readonly reason?: string | undefined;
}

type Operation<P extends ParticipantName> = keyof Participants[P] & string;
type InputOf<F> = F extends (input: infer I, options: CallOptions) => Promise<unknown> ? I : never;
type OutputOf<F> = F extends (input: never, options: CallOptions) => Promise<infer R> ? R : never;

/** One participant call: who, which operation, how its input is built from the context, where its output goes. */
export interface ParticipantCall<C> {
  readonly participant: ParticipantName;
  readonly operation: string;
  readonly input: (ctx: C, meta: CallMeta) => unknown;
  readonly output?: (result: unknown, ctx: C) => Partial<C>;
}

/** A typed constructor for a call, so the definition cannot name an operation that does not exist. */
export function call<C, P extends ParticipantName, O extends Operation<P>>(
  participant: P,
  operation: O,
  input: (ctx: C, meta: CallMeta) => InputOf<Participants[P][O]>,
  output?: (result: OutputOf<Participants[P][O]>, ctx: C) => Partial<C>,
): ParticipantCall<C> {
  return {
    participant,
    operation,
    input,
    ...(output ? { output: output as (result: unknown, ctx: C) => Partial<C> } : {}),
  };
}

export interface StepDefinition<C> {
  readonly name: string;
  /** Run in order; every call is idempotent, so a retry re-runs them all. */
  readonly action: readonly ParticipantCall<C>[];
  readonly compensation?: readonly ParticipantCall<C>[];
  readonly retry: RetryPolicy;
  /** @default retry */
  readonly compensationRetry?: RetryPolicy;
  /** Once this step has succeeded the saga only moves forward: later failures are retried, never compensated. */
  readonly pivot?: boolean;
  /** A failure is logged and the saga goes on (nothing depends on this step). */
  readonly bestEffort?: boolean;
}

export interface SagaDefinition<C> {
  readonly name: string;
  readonly steps: readonly StepDefinition<C>[];
}

export function validateDefinition<C>(definition: SagaDefinition<C>): void {
  const names = new Set<string>();
  for (const step of definition.steps) {
    if (names.has(step.name)) throw new Error(`saga ${definition.name}: step ${step.name} is defined twice`);
    names.add(step.name);
    if (step.action.length === 0) throw new Error(`saga ${definition.name}: step ${step.name} has no action`);
    if (!(step.retry.maxAttempts >= 1))
      throw new Error(`saga ${definition.name}: step ${step.name} needs retry.maxAttempts >= 1`);
  }
  if (definition.steps.filter((s) => s.pivot).length > 1)
    throw new Error(`saga ${definition.name}: at most one pivot step`);
}

export function initialSteps<C>(definition: SagaDefinition<C>): StepState[] {
  return definition.steps.map((s) => ({
    name: s.name,
    status: 'PENDING',
    attempts: 0,
    compensationAttempts: 0,
  }));
}

export type Move =
  | { readonly kind: 'forward'; readonly index: number }
  | { readonly kind: 'compensate'; readonly index: number }
  | { readonly kind: 'complete' }
  | { readonly kind: 'compensated' }
  | { readonly kind: 'failed' }
  | { readonly kind: 'done' };

/** What to do next with a saga, from its recorded state alone (which is what makes resuming after a crash work). */
export function nextMove<C>(definition: SagaDefinition<C>, saga: Saga<C>): Move {
  if (saga.status === 'RUNNING') {
    const index = saga.steps.findIndex((s) => s.status !== 'SUCCEEDED' && s.status !== 'SKIPPED');
    return index < 0 ? { kind: 'complete' } : { kind: 'forward', index };
  }
  if (saga.status === 'COMPENSATING') {
    for (let i = saga.steps.length - 1; i >= 0; i--) {
      if (needsCompensation(definition.steps[i], saga.steps[i])) return { kind: 'compensate', index: i };
    }
    return saga.steps.some((s) => s.status === 'COMPENSATION_FAILED')
      ? { kind: 'failed' }
      : { kind: 'compensated' };
  }
  return { kind: 'done' };
}

/**
 * Completed steps are undone; so is a step that failed transiently, since its effect is unknown (the answer may
 * have been lost after the participant acted). A business refusal changed nothing, so it is not compensated.
 */
export function needsCompensation<C>(step: StepDefinition<C>, state: StepState): boolean {
  if (!step.compensation || step.compensation.length === 0) return false;
  if (state.status === 'SUCCEEDED' || state.status === 'COMPENSATING') return true;
  return state.status === 'FAILED' && state.error?.kind === 'transient';
}

/** True when a step before `index` is a pivot that has succeeded: from there on, the saga only goes forward. */
export function pastPivot<C>(definition: SagaDefinition<C>, saga: Saga<C>, index: number): boolean {
  return definition.steps.some((s, i) => i < index && s.pivot && saga.steps[i].status === 'SUCCEEDED');
}

export type FailureDecision =
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'compensate'; readonly reason: string }
  | { readonly kind: 'fail'; readonly reason: string }
  | { readonly kind: 'skip'; readonly reason: string };

/** What a failed attempt of a forward step leads to. */
export function onStepFailure<C>(
  definition: SagaDefinition<C>,
  saga: Saga<C>,
  index: number,
  error: StepError,
  random: () => number = Math.random,
): FailureDecision {
  const step = definition.steps[index];
  const attempts = saga.steps[index].attempts;
  if (error.kind === 'transient' && attempts < step.retry.maxAttempts) {
    return { kind: 'retry', delayMs: backoffDelay(step.retry, attempts, random) };
  }
  const reason = error.kind === 'business' ? error.message : `${step.name} failed after ${attempts} attempts`;
  if (step.bestEffort) return { kind: 'skip', reason };
  if (pastPivot(definition, saga, index)) {
    return { kind: 'fail', reason: `${reason} (after the order was confirmed; needs an operator)` };
  }
  return { kind: 'compensate', reason };
}

export type CompensationDecision =
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'done' }
  | { readonly kind: 'give-up'; readonly reason: string };

/** What a failed compensation attempt leads to: 'not-found' means there was nothing to undo. */
export function onCompensationFailure<C>(
  definition: SagaDefinition<C>,
  saga: Saga<C>,
  index: number,
  error: StepError,
  random: () => number = Math.random,
): CompensationDecision {
  const step = definition.steps[index];
  const policy = step.compensationRetry ?? step.retry;
  const attempts = saga.steps[index].compensationAttempts;
  if (error.kind === 'business' && error.code === 'not-found') return { kind: 'done' };
  if (error.kind === 'transient' && attempts < policy.maxAttempts) {
    return { kind: 'retry', delayMs: backoffDelay(policy, attempts, random) };
  }
  return {
    kind: 'give-up',
    reason:
      error.kind === 'business'
        ? `compensation of ${step.name} refused: ${error.message}`
        : `compensation of ${step.name} failed after ${attempts} attempts`,
  };
}

/** Exponential backoff with "equal jitter": half the exponential delay, plus a random part of the other half. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
