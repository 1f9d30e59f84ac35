import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkVerdict,
  evaluateGates,
  measure,
  type GateResult,
  type Measurement,
} from './canary-analysis.ts';
import type { CanaryMetrics } from './canary-metrics.ts';
import { checkSteps, planCanary, startingPoint, type CanaryPhase, type CanaryState } from './canary-plan.ts';
import { readRoutes, shiftRoutes, type Route } from './canary-routes.ts';
import { describe, type Kube } from './kube.ts';
import { canaryQueries, type CanaryQueryOptions } from './prometheus.ts';
import type { Backend } from './traffic.ts';

export { evaluateGates, type GateResult, type Measurement } from './canary-analysis.ts';
export { CanaryMetrics } from './canary-metrics.ts';
export { checkSteps, parseState, type CanaryPhase, type CanaryState } from './canary-plan.ts';

export const DEFAULT_STEPS = [5, 10, 20, 50] as const;

export type CanaryEvent =
  | {
      readonly type: 'start';
      readonly stable: string;
      readonly split: string;
      readonly schedule: readonly number[];
      readonly resumedFrom?: number;
    }
  | { readonly type: 'weight'; readonly weight: number; readonly targets: readonly string[] }
  | {
      readonly type: 'check';
      readonly weight: number;
      readonly measurement: Measurement;
      readonly gate: GateResult;
      readonly failedChecks: number;
    }
  | { readonly type: 'promoted' }
  | { readonly type: 'rolled-back'; readonly reason: string }
  | { readonly type: 'interrupted'; readonly weight: number };

export type CanaryOutcome = 'promoted' | 'rolled-back' | 'interrupted' | 'already-promoted';

export interface CanaryResult {
  readonly outcome: CanaryOutcome;
  /** The canary's weight at the end. */
  readonly weight: number;
  readonly message: string;
  readonly checks: readonly Extract<CanaryEvent, { type: 'check' }>[];
}

export interface CanaryOptions extends Omit<CanaryQueryOptions, 'version' | 'service'> {
  readonly kube: Kube;
  readonly namespace: string;
  readonly service: string;
  /** The new version (`app.kubernetes.io/version` of its pods; the target is `<service>-<version>`). */
  readonly version: string;
  /** Route objects to shift; those the profile does not render are skipped. @default both */
  readonly backends?: readonly Backend[];
  /** Canary weights in percent, increasing, below 100; promotion to 100 follows the last. @default 5, 10, 20, 50 */
  readonly steps?: readonly number[];
  /** Time at each weight before its analysis (and between repeated analyses). @default 60 s */
  readonly intervalMs: number;
  readonly prometheusUrl: string;
  /** Lowest success rate (non-5xx share, percent) the canary may have. @default 99 */
  readonly minSuccessRate?: number;
  /** Highest p99 latency in ms. @default 500 */
  readonly maxP99Ms?: number;
  /** Failed analyses at one weight before rolling back. @default 1 */
  readonly maxFailedChecks?: number;
  readonly metrics?: CanaryMetrics;
  readonly onEvent?: (event: CanaryEvent) => void;
  readonly signal?: AbortSignal;
}

type CheckEvent = Extract<CanaryEvent, { type: 'check' }>;

/** One run's settings and what it has found and done so far, shared by its steps. */
interface CanaryRun {
  readonly options: CanaryOptions;
  readonly routes: readonly Route[];
  readonly stable: string;
  readonly window: string;
  readonly minSuccessRate: number;
  readonly maxP99Ms: number;
  readonly maxFailedChecks: number;
  readonly queries: ReturnType<typeof canaryQueries>;
  readonly checks: CheckEvent[];
  readonly emit: (event: CanaryEvent) => void;
}

/**
 * Progressive delivery of one version of one service: for each step, set the canary's weight on every route object
 * (App Mesh VirtualRouter, Gateway API HTTPRoute), wait `intervalMs`, query Prometheus and check the gates; promote to
 * 100% when every step passed, roll back to 0% when a gate fails `maxFailedChecks` times at one weight. The state
 * lives in an annotation on each route object, so an interrupted run resumes from the weights it finds.
 */
export async function runCanary(options: CanaryOptions): Promise<CanaryResult> {
  const { kube, namespace, service, version } = options;
  const emit = options.onEvent ?? (() => undefined);
  const steps = [...(options.steps ?? DEFAULT_STEPS)];
  checkSteps(steps);
  const window = options.window ?? '1m';
  const checks: CheckEvent[] = [];

  const routes = await readRoutes(kube, options.backends, namespace, service);
  const start = startingPoint(routes, service, version);
  const plan = planCanary(start, steps, service, version);
  if (plan.kind === 'already-promoted') {
    options.metrics?.setWeight(100);
    options.metrics?.setPhase('promoted');
    return { outcome: 'already-promoted', weight: 100, message: plan.message, checks };
  }
  const run: CanaryRun = {
    options,
    routes,
    stable: plan.stable,
    window,
    minSuccessRate: options.minSuccessRate ?? 99,
    maxP99Ms: options.maxP99Ms ?? 500,
    maxFailedChecks: options.maxFailedChecks ?? 1,
    queries: canaryQueries({ ...options, service, version, window }),
    checks,
    emit,
  };
  emit({
    type: 'start',
    stable: plan.stable,
    split: start.splitText,
    schedule: plan.schedule,
    ...(plan.resumedFrom !== undefined ? { resumedFrom: plan.resumedFrom } : {}),
  });

  let weight = start.current;
  let passed = plan.passed;
  try {
    for (const step of plan.schedule) {
      options.signal?.throwIfAborted();
      await shift(run, step, 'progressing', `analysing ${version} at ${step}%`, passed);
      weight = step;
      emit({ type: 'weight', weight: step, targets: routes.map((r) => describe(r.object)) });
      const gate = await analyseAt(run, step);
      if (gate.passed) {
        passed = step;
        await shift(run, step, 'progressing', `${version} passed at ${step}%`, passed);
        continue;
      }
      const reason = `at ${step}%: ${gate.failures.join('; ')}`;
      await shift(run, 0, 'rolled-back', `rolled back ${reason}`);
      emit({ type: 'rolled-back', reason });
      return {
        outcome: 'rolled-back',
        weight: 0,
        message: `${service} ${version} rolled back to 0% ${reason}`,
        checks,
      };
    }
    options.signal?.throwIfAborted();
    await shift(run, 100, 'promoted', `${version} promoted after ${steps.join(', ')}%`);
    emit({ type: 'promoted' });
    return { outcome: 'promoted', weight: 100, message: `${service} ${version} promoted to 100%`, checks };
  } catch (e) {
    if (options.signal?.aborted) {
      options.metrics?.setPhase('interrupted');
      emit({ type: 'interrupted', weight });
      return {
        outcome: 'interrupted',
        weight,
        message: `interrupted at ${weight}%; run again to resume from there`,
        checks,
      };
    }
    throw e;
  }
}

/** Sets the canary's weight and the state on every route object, then the weight and phase metrics. */
async function shift(
  run: CanaryRun,
  weight: number,
  phase: CanaryPhase,
  message: string,
  passedWeight?: number,
): Promise<void> {
  const { kube, service, version, metrics } = run.options;
  const next: CanaryState = {
    version,
    stable: run.stable,
    phase,
    weight,
    ...(passedWeight !== undefined ? { passedWeight } : {}),
    message,
    updatedAt: new Date().toISOString(),
  };
  await shiftRoutes(kube, run.routes, service, run.stable, version, weight, next);
  metrics?.setWeight(weight);
  metrics?.setPhase(phase);
}

/**
 * Analyses the canary at one weight: waits `intervalMs`, measures and checks the gates, recording and emitting every
 * check, until one passes or `maxFailedChecks` have failed. Returns the last check's gates.
 */
async function analyseAt(run: CanaryRun, step: number): Promise<GateResult> {
  const { options } = run;
  for (let failed = 0; ;) {
    await sleep(options.intervalMs, undefined, options.signal ? { signal: options.signal } : undefined);
    const measurement = await measure(options.prometheusUrl, run.queries, options.signal);
    const gate = evaluateGates(measurement, run.minSuccessRate, run.maxP99Ms, run.window);
    if (!gate.passed) failed++;
    options.metrics?.recordCheck(measurement, gate.passed);
    const check = { type: 'check', weight: step, measurement, gate, failedChecks: failed } as const;
    run.checks.push(check);
    run.emit(check);
    if (checkVerdict(gate, failed, run.maxFailedChecks) !== 'again') return gate;
  }
}
