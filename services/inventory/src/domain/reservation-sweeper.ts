import type { Logger, Metrics } from '@meshmart/kit';
import type { ReservationRepository } from '../adapters/reservation-repository.ts';
import type { InventoryService } from './inventory-service.ts';
import { inventoryMetrics } from '../metrics.ts';

export interface ReservationSweeperProps {
  readonly service: InventoryService;
  readonly reservations: ReservationRepository;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** @default 1000 */
  readonly intervalMs?: number;
  /** Reservations handled per kind and pass. @default 100 */
  readonly batchSize?: number;
  /** The audit of stock holds (the repair of interrupted stock effects) runs every this many passes. @default 1 */
  readonly auditEvery?: number;
  readonly now?: () => Date;
}

export interface SweepResult {
  expired: number;
  abandoned: number;
  repaired: number;
}

/**
 * Expires HELD reservations past expiresAt (their units return to stock), rejects reservations stuck PENDING, and
 * audits the holds: a hold of a reservation in a final status is a stock effect a crash interrupted, or one a stalled
 * reserve call added late, and is applied. Expiry is done in code: FerretDB has no TTL indexes, and returning units
 * needs more than deleting a document anyway.
 */
export class ReservationSweeper {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly auditEvery: number;
  private readonly now: () => Date;
  private readonly actions;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private passes = 0;
  private running = false;

  constructor(private readonly props: ReservationSweeperProps) {
    this.intervalMs = props.intervalMs ?? 1000;
    this.batchSize = props.batchSize ?? 100;
    this.auditEvery = props.auditEvery ?? 1;
    this.now = props.now ?? (() => new Date());
    this.actions = props.metrics?.counter(inventoryMetrics.sweeperActions);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  async sweepOnce(): Promise<SweepResult> {
    const { service, reservations } = this.props;
    const now = this.now();
    const result: SweepResult = { expired: 0, abandoned: 0, repaired: 0 };
    for (const r of await reservations.expired(now, this.batchSize)) {
      if (await service.expire(r)) result.expired++;
    }
    const stale = new Date(now.getTime() - service.pendingTimeoutMs);
    for (const r of await reservations.stalePending(stale, this.batchSize)) {
      if (await service.rejectStale(r)) result.abandoned++;
    }
    if (this.passes++ % this.auditEvery === 0) result.repaired = await service.auditHolds(this.batchSize);
    for (const action of ['expired', 'abandoned', 'repaired'] as const) {
      if (result[action] > 0) this.actions?.inc({ action }, result[action]);
    }
    return result;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.current = this.sweepOnce()
        .catch((err: unknown) => this.props.logger.error({ err }, 'reservation sweep failed; will retry'))
        .finally(() => {
          this.current = undefined;
          if (this.running) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
