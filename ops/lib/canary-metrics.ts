import { Counter, Gauge, Registry } from 'prom-client';
import type { Measurement } from './canary-analysis.ts';
import type { CanaryPhase } from './canary-plan.ts';

/** The canary's progress as Prometheus metrics, served by the CLI while it runs and/or written as a textfile. */
export class CanaryMetrics {
  readonly registry = new Registry();
  private readonly weight = new Gauge({
    name: 'meshmart_canary_weight_percent',
    help: "Share of the service's traffic the canary version receives",
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });
  private readonly phase = new Gauge({
    name: 'meshmart_canary_phase',
    help: 'Current phase of the canary (1 for the current one)',
    labelNames: ['namespace', 'service', 'version', 'phase'] as const,
    registers: [this.registry],
  });
  private readonly success = new Gauge({
    name: 'meshmart_canary_success_rate_percent',
    help: 'Last measured success rate (non-5xx) of the canary version',
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });
  private readonly p99 = new Gauge({
    name: 'meshmart_canary_latency_p99_seconds',
    help: 'Last measured p99 latency of the canary version',
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });
  private readonly checks = new Counter({
    name: 'meshmart_canary_checks_total',
    help: 'Analyses of the canary version, by result',
    labelNames: ['namespace', 'service', 'version', 'result'] as const,
    registers: [this.registry],
  });
  private readonly transition = new Gauge({
    name: 'meshmart_canary_last_transition_timestamp_seconds',
    help: 'When the canary last changed weight or phase',
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });

  constructor(private readonly labels: { namespace: string; service: string; version: string }) {}

  setWeight(weight: number): void {
    this.weight.set(this.labels, weight);
    this.transition.set(this.labels, Date.now() / 1000);
  }

  setPhase(phase: CanaryPhase | 'interrupted'): void {
    for (const p of ['progressing', 'promoted', 'rolled-back', 'interrupted'])
      this.phase.set({ ...this.labels, phase: p }, p === phase ? 1 : 0);
    this.transition.set(this.labels, Date.now() / 1000);
  }

  recordCheck(m: Measurement, passed: boolean): void {
    if (m.successRate !== undefined) this.success.set(this.labels, m.successRate);
    if (m.p99Ms !== undefined) this.p99.set(this.labels, m.p99Ms / 1000);
    this.checks.inc({ ...this.labels, result: passed ? 'passed' : 'failed' });
  }
}
