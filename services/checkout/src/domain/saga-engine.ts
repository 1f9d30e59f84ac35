import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { loggerFor, type Logger } from '@meshmart/kit';
import type { OutboxEntry } from '@meshmart/kit/events';
import { classify, type CallOptions, type Participants } from '../adapters/participants.ts';
import type { SagaRepository } from '../adapters/saga-repository.ts';
import { type LogEntry, type Saga, type SagaStatus, type StepError } from './saga.ts';
import {
  nextMove,
  onCompensationFailure,
  onStepFailure,
  type ParticipantCall,
  type SagaDefinition,
} from './saga-definition.ts';

export type AttemptOutcome = 'success' | 'business' | 'transient';

/** Metrics and events hang off these; the engine itself knows nothing of checkout. */
export interface SagaHooks<C> {
  /** Events written in the same document update as the saga's final state. */
  finishedEvents?(saga: Saga<C>): readonly OutboxEntry[];
  /** After the final state is stored. */
  finished?(saga: Saga<C>): void;
  /** After each participant step attempt (`<step>` or `<step>.compensation`). */
  attempted?(step: string, outcome: AttemptOutcome): void;
  /** After any write that carried events: hands them to the outbox relay. */
  wrote?(saga: Saga<C>, events: readonly OutboxEntry[]): void;
}

export interface SagaEngineProps<C> {
  readonly definition: SagaDefinition<C>;
  readonly repository: SagaRepository<C>;
  readonly participants: Participants;
  readonly logger: Logger;
  /** @default `<hostname>-<pid>-<random>` */
  readonly owner?: string;
  /** How long a lease lasts after each write; must exceed the longest backoff plus the slowest call. @default 30000 */
  readonly leaseMs?: number;
  /** How often expired sagas are looked for. @default 5000 */
  readonly recoveryIntervalMs?: number;
  /**
   * A step's first attempt is written only if its call is still running after this long or half the lease,
   * whichever is sooner (a slow step shows as RUNNING and renews its lease); a quick step's start and outcome are
   * carried by the next write. 0 writes every step before its call. @default 500
   */
  readonly progressWriteMs?: number;
  readonly hooks?: SagaHooks<C>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Thrown inside a run when it must stop writing: the lease went to another engine, or the engine was halted. */
class Stop extends Error {
  override readonly name = 'Stop';
}

/**
 * Drives sagas through their definition. One engine per process; the saga is persisted under a lease, so a saga
 * interrupted by a crash is resumed by whichever engine finds its lease expired, from the step it had recorded.
 * Every participant call carries an idempotency key made of the saga, the step and the operation, so a step re-run
 * after a crash gets the answer it got the first time. That is what lets a quick step go unrecorded: its start is
 * written only when it is a retry, when the lease is half spent, or when its call is still running after
 * `progressWriteMs`; otherwise the next write (the next such step, a failure, the end) carries it. A crash then
 * re-runs the steps since the last write, under the same keys, as it re-runs the one step that was running.
 */
export class SagaEngine<C> {
  readonly owner: string;
  readonly leaseMs: number;
  private readonly recoveryIntervalMs: number;
  private readonly progressWriteMs: number;
  private readonly random: () => number;
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private recovering: Promise<void> | undefined;
  private stopping = false;
  private halted = false;

  constructor(private readonly props: SagaEngineProps<C>) {
    this.owner = props.owner ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.leaseMs = props.leaseMs ?? 30_000;
    this.recoveryIntervalMs = props.recoveryIntervalMs ?? 5_000;
    this.progressWriteMs = props.progressWriteMs ?? 500;
    this.random = props.random ?? Math.random;
  }

  /** Sagas this engine is driving now (started here or resumed). */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Runs a saga in the background (no-op when this engine already runs it). `created` is the saga as this engine just
   * stored it, holding its lease: it is driven from that copy instead of being read back and leased again.
   */
  start(sagaId: string, created?: Saga<C>): void {
    if (this.stopping || this.halted || this.running.has(sagaId)) return;
    const run = this.drive(sagaId, created)
      .catch((err: unknown) => this.props.logger.error({ err, sagaId }, 'saga run failed; will be resumed'))
      .finally(() => this.running.delete(sagaId));
    this.running.set(sagaId, run);
  }

  /** Runs a saga to its end (or until its lease is lost) and returns its state then. */
  async run(sagaId: string): Promise<Saga<C> | undefined> {
    this.start(sagaId);
    await this.running.get(sagaId);
    return this.props.repository.get(sagaId);
  }

  /** Resumes every active saga whose lease has expired, now and then every `recoveryIntervalMs`. */
  startRecovery(): void {
    if (this.timer || this.stopping) return;
    const tick = (): void => {
      this.recovering = this.recover()
        .then(() => undefined)
        .catch((err: unknown) => this.props.logger.error({ err }, 'saga recovery pass failed'))
        .finally(() => {
          this.recovering = undefined;
          if (this.stopping || this.halted) return;
          this.timer = setTimeout(tick, this.recoveryIntervalMs);
          this.timer.unref();
        });
    };
    tick();
  }

  /** One recovery pass; returns the ids it started. */
  async recover(): Promise<string[]> {
    const ids = await this.props.repository.expired(Date.now(), 100);
    const started = ids.filter((id) => !this.running.has(id));
    if (started.length > 0) this.props.logger.info({ sagas: started }, 'resuming interrupted sagas');
    for (const id of started) this.start(id);
    return started;
  }

  /** Resolves when no saga is running in this engine. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Graceful stop: runs stop at their next transition and hand their lease back, so another engine resumes them. */
  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.recovering;
    await this.idle();
  }

  /** Simulates a crash: nothing more is written, leases are left to expire. */
  halt(): void {
    this.halted = true;
    this.stopping = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }

  private async drive(sagaId: string, created?: Saga<C>): Promise<void> {
    const { repository, definition } = this.props;
    const now = Date.now();
    const saga =
      created && created.lease?.owner === this.owner && created.lease.until > now
        ? structuredClone(created)
        : await repository.acquire(sagaId, this.owner, now, now + this.leaseMs);
    if (!saga) return;
    const context = propagation.extract(ROOT_CONTEXT, saga.trace);
    try {
      for (;;) {
        if (this.halted) return;
        if (this.stopping) {
          await this.write(saga, [], { owner: this.owner, until: 0, generation: generationOf(saga) });
          return;
        }
        const move = nextMove(definition, saga);
        switch (move.kind) {
          case 'done':
            return;
          case 'complete':
            return await this.finish(saga, 'COMPLETED');
          case 'compensated':
            return await this.finish(saga, 'COMPENSATED');
          case 'failed':
            return await this.finish(saga, 'FAILED');
          case 'forward':
            await this.forward(saga, move.index, context);
            break;
          case 'compensate':
            await this.compensate(saga, move.index, context);
            break;
        }
      }
    } catch (err) {
      if (err instanceof Stop) return;
      throw err;
    }
  }

  private async forward(saga: Saga<C>, index: number, context: Context): Promise<void> {
    const def = this.props.definition.steps[index];
    const step = saga.steps[index];
    step.status = 'RUNNING';
    step.attempts++;
    step.startedAt ??= new Date().toISOString();
    this.log(saga, { event: 'step-started', step: step.name, attempt: step.attempts });
    let later: DeferredWrite | undefined;
    if (this.writeBefore(saga, step.attempts, def.pivot === true)) await this.write(saga);
    // Due by half the lease at the latest, so a slow step keeps its lease.
    else later = new DeferredWrite(Math.min(this.progressWriteMs, this.leaseMs / 2), () => this.write(saga));
    try {
      await this.calls(saga, def.name, def.action, context, 'action');
    } catch (err) {
      await later?.settle();
      if (err instanceof Stop) throw err;
      const error = toStepError(err);
      step.error = error;
      this.props.hooks?.attempted?.(step.name, error.kind);
      const decision = onStepFailure(this.props.definition, saga, index, error, this.random);
      const detail = `${error.code}: ${error.message}`;
      switch (decision.kind) {
        case 'retry':
          this.log(saga, { event: 'step-retrying', step: step.name, attempt: step.attempts, detail });
          await this.write(saga);
          loggerFor(this.props.logger, context).warn(
            { sagaId: saga.id, step: step.name, attempt: step.attempts, delayMs: decision.delayMs, detail },
            'saga step failed; retrying',
          );
          await this.pause(decision.delayMs);
          return;
        case 'skip':
          step.status = 'SKIPPED';
          step.finishedAt = new Date().toISOString();
          this.log(saga, { event: 'step-skipped', step: step.name, detail: decision.reason });
          await this.write(saga);
          return;
        case 'fail':
          step.status = 'FAILED';
          step.finishedAt = new Date().toISOString();
          saga.reason = decision.reason;
          this.log(saga, { event: 'step-failed', step: step.name, attempt: step.attempts, detail });
          return await this.finish(saga, 'FAILED');
        case 'compensate':
          step.status = 'FAILED';
          step.finishedAt = new Date().toISOString();
          saga.status = 'COMPENSATING';
          saga.reason = decision.reason;
          this.log(saga, { event: 'step-failed', step: step.name, attempt: step.attempts, detail });
          this.log(saga, { event: 'compensating', detail: decision.reason });
          await this.write(saga);
          return;
      }
    }
    await later?.settle();
    this.props.hooks?.attempted?.(step.name, 'success');
    step.status = 'SUCCEEDED';
    step.finishedAt = new Date().toISOString();
    delete step.error;
    this.log(saga, { event: 'step-succeeded', step: step.name, attempt: step.attempts });
    // Not written on its own: every next move (the next step starting, the saga finishing, a graceful stop) writes
    // first thing, and carries this success. A crash before then re-runs the step under the same idempotency keys,
    // exactly as a crash just before this line would.
  }

  private async compensate(saga: Saga<C>, index: number, context: Context): Promise<void> {
    const def = this.props.definition.steps[index];
    const step = saga.steps[index];
    const label = `${step.name}.compensation`;
    step.status = 'COMPENSATING';
    step.compensationAttempts++;
    this.log(saga, { event: 'compensation-started', step: step.name, attempt: step.compensationAttempts });
    await this.write(saga);
    try {
      await this.calls(saga, def.name, def.compensation ?? [], context, 'compensation');
    } catch (err) {
      if (err instanceof Stop) throw err;
      const error = toStepError(err);
      this.props.hooks?.attempted?.(label, error.kind);
      const decision = onCompensationFailure(this.props.definition, saga, index, error, this.random);
      const detail = `${error.code}: ${error.message}`;
      switch (decision.kind) {
        case 'done':
          step.status = 'COMPENSATED';
          this.log(saga, { event: 'compensation-not-needed', step: step.name, detail });
          await this.write(saga);
          return;
        case 'retry':
          step.compensationError = error;
          this.log(saga, {
            event: 'compensation-retrying',
            step: step.name,
            attempt: step.compensationAttempts,
            detail,
          });
          await this.write(saga);
          loggerFor(this.props.logger, context).warn(
            { sagaId: saga.id, step: step.name, attempt: step.compensationAttempts, detail },
            'saga compensation failed; retrying',
          );
          await this.pause(decision.delayMs);
          return;
        case 'give-up':
          step.status = 'COMPENSATION_FAILED';
          step.compensationError = error;
          this.log(saga, { event: 'compensation-failed', step: step.name, detail: decision.reason });
          loggerFor(this.props.logger, context).error(
            { sagaId: saga.id, step: step.name, detail: decision.reason },
            'saga compensation gave up; needs an operator',
          );
          await this.write(saga);
          return;
      }
    }
    this.props.hooks?.attempted?.(label, 'success');
    step.status = 'COMPENSATED';
    delete step.compensationError;
    this.log(saga, { event: 'compensation-succeeded', step: step.name, attempt: step.compensationAttempts });
    await this.write(saga);
  }

  /** Runs a step's calls in order, folding each output into the context. */
  private async calls(
    saga: Saga<C>,
    step: string,
    calls: readonly ParticipantCall<C>[],
    context: Context,
    phase: 'action' | 'compensation',
  ): Promise<void> {
    for (const c of calls) {
      const input = c.input(saga.context, { sagaId: saga.id, step, reason: saga.reason });
      const options: CallOptions = {
        idempotencyKey: `${saga.id}:${step}${phase === 'compensation' ? ':compensation' : ''}:${c.participant}.${c.operation}`,
        context,
      };
      const target = this.props.participants[c.participant] as unknown as Record<
        string,
        (input: unknown, options: CallOptions) => Promise<unknown>
      >;
      const result = await target[c.operation].call(target, input, options);
      // A crashed process writes nothing more: the answer is lost and the step re-runs on resume.
      if (this.halted) throw new Stop('halted');
      if (c.output) saga.context = { ...saga.context, ...c.output(result, saga.context) };
    }
  }

  private async finish(saga: Saga<C>, status: SagaStatus): Promise<void> {
    saga.status = status;
    saga.finishedAt = new Date().toISOString();
    this.log(saga, {
      event: `saga-${status.toLowerCase()}`,
      ...(saga.reason ? { detail: saga.reason } : {}),
    });
    const events = this.props.hooks?.finishedEvents?.(saga) ?? [];
    await this.write(saga, events, null);
    this.props.logger[status === 'COMPLETED' ? 'info' : status === 'FAILED' ? 'error' : 'warn'](
      { sagaId: saga.id, status, reason: saga.reason },
      `saga ${status.toLowerCase()}`,
    );
    this.props.hooks?.finished?.(saga);
  }

  /**
   * Whether a forward step's start is written before its call: always with `progressWriteMs` 0, for a retry (its
   * attempts count towards the step's budget across a crash), for the pivot, and once half the lease is spent (the
   * write renews it). The pivot's: every step before it is recorded, and the lease checked, before the call that
   * cannot be taken back. Without it, an engine that took the saga over after a crash (or after this one lost its
   * lease) re-ran the steps before the pivot after the pivot had happened, and their failure compensated (or failed)
   * a confirmed order.
   */
  private writeBefore(saga: Saga<C>, attempts: number, pivot: boolean): boolean {
    if (this.progressWriteMs === 0 || attempts > 1 || pivot) return true;
    return (saga.lease?.until ?? 0) - Date.now() < this.leaseMs / 2;
  }

  /** Persists the saga and renews (or hands back, or drops) the lease; stops the run if the lease is gone. */
  private async write(
    saga: Saga<C>,
    events: readonly OutboxEntry[] = [],
    lease: Saga['lease'] = {
      owner: this.owner,
      until: Date.now() + this.leaseMs,
      generation: generationOf(saga),
    },
  ): Promise<void> {
    if (this.halted) throw new Stop('halted');
    saga.updatedAt = new Date().toISOString();
    saga.lease = lease;
    // A copy: a write still in flight must not pick up what the run changes meanwhile (a step marked SUCCEEDED
    // before its output is in the context).
    const ok = await this.props.repository.save(structuredClone(saga), this.owner, events);
    if (!ok) {
      this.props.logger.warn(
        { sagaId: saga.id, owner: this.owner },
        'saga lease lost; another engine has it',
      );
      throw new Stop('lease lost');
    }
    if (events.length > 0) this.props.hooks?.wrote?.(saga, events);
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
    } catch {
      // Woken by close() or halt(); the loop sees why.
    }
  }

  private log(saga: Saga<C>, entry: Omit<LogEntry, 'at'>): void {
    saga.log.push({ at: new Date().toISOString(), ...entry });
  }
}

/** A write that happens only if `settle` has not been called within `delayMs`; `settle` waits for one under way. */
class DeferredWrite {
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> | undefined;

  constructor(delayMs: number, write: () => Promise<void>) {
    this.timer = setTimeout(() => {
      this.writing = write();
      // Seen by settle(); until then a failure must not count as unhandled.
      this.writing.catch(() => undefined);
    }, delayMs);
    this.timer.unref();
  }

  /** Cancels the write if it has not started; otherwise waits for it and throws what it threw (a lost lease). */
  async settle(): Promise<void> {
    clearTimeout(this.timer);
    await this.writing;
  }
}

function generationOf(saga: Saga<unknown>): number {
  return saga.lease?.generation ?? 0;
}

function toStepError(err: unknown): StepError {
  const { kind, code, message } = classify(err);
  return { kind, code, message };
}
