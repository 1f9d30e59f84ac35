import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type Logger, type Metrics } from '@meshmart/kit';
import type { ReservationRepository } from '../adapters/reservation-repository.ts';
import type { StockRepository } from '../adapters/stock-repository.ts';
import { inventoryEvent, type TraceContext } from './inventory-events.ts';
import {
  FINAL_STATUSES,
  sameContent,
  type Rejection,
  type Reservation,
  type StockLevel,
  type StockLine,
} from './stock.ts';

export interface InventoryServiceProps {
  readonly stock: StockRepository;
  readonly reservations: ReservationRepository;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Lifetime of a reservation when the request names none. */
  readonly defaultTtlSeconds: number;
  /** A reservation PENDING longer than this is presumed abandoned (its reserve call died). @default 5000 */
  readonly pendingTimeoutMs?: number;
  /** Called after every write that carries events (nudges the outbox relay). */
  readonly onWrite?: () => void;
  readonly now?: () => Date;
}

export interface ReserveRequest {
  readonly reservationId: string;
  readonly orderId: string;
  readonly items: readonly StockLine[];
  readonly ttlSeconds?: number;
}

export interface Options {
  readonly context?: TraceContext;
}

/**
 * Stock and reservations without transactions. How units are never lost nor counted twice:
 * - A unit moves only through an atomic conditional change of one product's stock that also adds or removes the
 *   reservation id in its `holds` (StockRepository). So each movement for a reservation happens at most once per
 *   product, `available` never drops below zero (the filter demands enough) and `reserved` only drops by a hold's
 *   own units.
 * - The reservation document is written FIRST, as PENDING with its items, before any unit moves. Its status is the
 *   intent; it changes only through conditional transitions (PENDING->HELD|REJECTED, HELD->COMMITTED|RELEASED|
 *   EXPIRED), so exactly one caller wins each, even with concurrent calls or a sweeper.
 * - After a transition to a final status the winner applies its stock effects (consume or return each hold) and
 *   marks the reservation settled. A crash in between leaves it unsettled and the sweeper applies them again: the
 *   hold makes that idempotent.
 * - A reserve call that dies midway leaves a PENDING reservation: after `pendingTimeoutMs` the sweeper rejects it
 *   and returns whatever holds it had. If the call was only slow, its PENDING->HELD transition then fails and it
 *   returns its holds itself; a hold it adds after the sweeper's pass is found by the sweeper's audit of holds.
 */
export class InventoryService {
  private readonly now: () => Date;
  readonly pendingTimeoutMs: number;
  private readonly outcomes;

  constructor(private readonly props: InventoryServiceProps) {
    this.now = props.now ?? (() => new Date());
    this.pendingTimeoutMs = props.pendingTimeoutMs ?? 5000;
    this.outcomes = props.metrics?.counter({
      name: 'inventory_reservation_outcomes_total',
      help: 'Reservation state changes by outcome',
      labelNames: ['outcome'] as const,
    });
  }

  async getStock(productId: string): Promise<StockLevel> {
    const level = await this.props.stock.get(productId);
    if (!level) throw productNotFound([productId]);
    return level;
  }

  listStock(productIds: readonly string[]): Promise<StockLevel[]> {
    return this.props.stock.list([...new Set(productIds)]);
  }

  async setStock(productId: string, available: number, options: Options = {}): Promise<StockLevel> {
    const event = inventoryEvent('StockAdjusted', { productId, available }, options.context);
    const level = await this.props.stock.setAvailable(productId, available, [event]);
    this.props.onWrite?.();
    return level;
  }

  /** Creates stock for products inventory does not know yet; returns how many were created. */
  async seed(productIds: readonly string[], units: number): Promise<number> {
    let created = 0;
    for (const productId of productIds) {
      const event = inventoryEvent('StockAdjusted', { productId, available: units });
      if (await this.props.stock.seed(productId, units, [event])) created++;
    }
    if (created > 0) this.props.onWrite?.();
    return created;
  }

  async getReservation(id: string): Promise<Reservation> {
    const r = await this.props.reservations.get(id);
    if (!r) throw reservationNotFound(id);
    return r;
  }

  /** `created` is false when the same request was made before (the earlier reservation is answered). */
  async reserve(
    request: ReserveRequest,
    options: Options = {},
  ): Promise<{ created: boolean; reservation: Reservation }> {
    const { reservationId: id, orderId, items } = request;
    const duplicates = items.map((i) => i.productId).filter((p, at, all) => all.indexOf(p) !== at);
    if (duplicates.length > 0) {
      throw new AppError(400, 'duplicate-product', 'each product may appear once in a reservation', {
        extensions: { products: [...new Set(duplicates)] },
      });
    }
    const now = this.now();
    const ttlSeconds = request.ttlSeconds ?? this.props.defaultTtlSeconds;
    const pending: Reservation = {
      id,
      orderId,
      items: items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
      status: 'PENDING',
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      createdAt: now,
      updatedAt: now,
      settled: false,
    };
    if (!(await this.props.reservations.create(pending))) {
      return { created: false, reservation: await this.repeated(id, orderId, items) };
    }
    let failedAt = -1;
    for (const [at, item] of pending.items.entries()) {
      if (!(await this.props.stock.hold(item.productId, id, item.quantity))) {
        failedAt = at;
        break;
      }
    }
    if (failedAt < 0) {
      const event = inventoryEvent(
        'StockReserved',
        { reservationId: id, orderId, items: [...pending.items], expiresAt: pending.expiresAt.toISOString() },
        options.context,
      );
      const held = await this.props.reservations.transition(
        id,
        ['PENDING'],
        'HELD',
        { settled: true, at: this.now() },
        [event],
      );
      if (held) {
        this.outcomes?.inc({ outcome: 'held' });
        this.props.onWrite?.();
        return { created: true, reservation: held };
      }
      // The sweeper took this reservation for abandoned while we were holding units: give them back.
      const taken = await this.getReservation(id);
      await this.settle(taken);
      throw rejectionError(taken.rejection ?? { code: 'reservation-timed-out', products: [] });
    }
    const rejection = await this.diagnose(pending.items.slice(failedAt));
    const rejected =
      (await this.props.reservations.transition(
        id,
        ['PENDING'],
        'REJECTED',
        { settled: false, rejection, at: this.now() },
        [],
      )) ?? (await this.getReservation(id));
    await this.settle(rejected);
    this.outcomes?.inc({ outcome: 'rejected' });
    throw rejectionError(rejected.rejection ?? rejection);
  }

  async commit(id: string, options: Options = {}): Promise<Reservation> {
    const r = await this.current(id);
    if (r.status === 'COMMITTED') return r;
    if (r.status !== 'HELD') throw notHeld(r);
    const event = inventoryEvent(
      'StockCommitted',
      { reservationId: id, orderId: r.orderId, items: [...r.items] },
      options.context,
    );
    const done = await this.props.reservations.transition(
      id,
      ['HELD'],
      'COMMITTED',
      { settled: false, at: this.now() },
      [event],
    );
    if (!done) {
      const now = await this.getReservation(id);
      if (now.status === 'COMMITTED') return now;
      throw notHeld(now);
    }
    this.outcomes?.inc({ outcome: 'committed' });
    this.props.onWrite?.();
    return this.settle(done);
  }

  async release(id: string, options: Options = {}): Promise<Reservation> {
    const r = await this.current(id);
    const answer = (x: Reservation): Reservation => {
      if (x.status === 'COMMITTED') {
        throw new AppError(
          409,
          'reservation-committed',
          `reservation ${id} is committed; it cannot be released`,
        );
      }
      if (x.status === 'PENDING') {
        throw new AppError(409, 'reservation-pending', `reservation ${id} is still being made; try again`);
      }
      // RELEASED, EXPIRED or REJECTED: the units are back (or were never taken), which is what was asked.
      return x;
    };
    if (r.status !== 'HELD') return answer(r);
    const done = await this.toReleased(r, 'released', options.context);
    return done ?? answer(await this.getReservation(id));
  }

  /** For the sweeper: a HELD reservation past its expiry gives its units back. */
  async expire(r: Reservation): Promise<boolean> {
    return (await this.toReleased(r, 'expired')) !== undefined;
  }

  /** For the sweeper: a reservation PENDING for too long is rejected and its holds returned. */
  async rejectStale(r: Reservation): Promise<boolean> {
    const rejected = await this.props.reservations.transition(
      r.id,
      ['PENDING'],
      'REJECTED',
      { settled: false, rejection: { code: 'reservation-timed-out', products: [] }, at: this.now() },
      [],
    );
    if (!rejected) return false;
    this.props.logger.warn({ reservationId: r.id }, 'abandoned reservation rejected; its units are returned');
    this.outcomes?.inc({ outcome: 'timed_out' });
    await this.settle(rejected);
    return true;
  }

  /**
   * Applies the stock effects of a final status (again): consumes or returns each hold still present, then marks the
   * reservation settled. Idempotent, so the sweeper and the caller may both run it.
   */
  async settle(r: Reservation): Promise<Reservation> {
    if (!FINAL_STATUSES.includes(r.status)) return r;
    for (const item of r.items) {
      if (r.status === 'COMMITTED') await this.props.stock.consumeHold(item.productId, r.id, item.quantity);
      else await this.props.stock.returnHold(item.productId, r.id, item.quantity);
    }
    if (!r.settled) await this.props.reservations.markSettled(r.id);
    return { ...r, settled: true };
  }

  /** For the sweeper: holds whose reservation is final (added late by a stalled reserve call) are settled. */
  async auditHolds(limit: number): Promise<number> {
    let repaired = 0;
    for (const { productId, holds } of await this.props.stock.withHolds(limit)) {
      for (const holder of holds) {
        const r = await this.props.reservations.get(holder);
        if (!r) {
          this.props.logger.error({ productId, reservationId: holder }, 'stock hold without a reservation');
          continue;
        }
        if (!FINAL_STATUSES.includes(r.status)) continue;
        const item = r.items.find((i) => i.productId === productId);
        if (!item) {
          this.props.logger.error(
            { productId, reservationId: holder },
            'stock hold for a product not reserved',
          );
          continue;
        }
        const fixed =
          r.status === 'COMMITTED'
            ? await this.props.stock.consumeHold(productId, holder, item.quantity)
            : await this.props.stock.returnHold(productId, holder, item.quantity);
        if (fixed) repaired++;
      }
    }
    return repaired;
  }

  private async toReleased(
    r: Reservation,
    reason: 'released' | 'expired',
    context?: TraceContext,
  ): Promise<Reservation | undefined> {
    const event = inventoryEvent(
      'StockReleased',
      { reservationId: r.id, orderId: r.orderId, items: [...r.items], reason },
      context,
    );
    const done = await this.props.reservations.transition(
      r.id,
      ['HELD'],
      reason === 'expired' ? 'EXPIRED' : 'RELEASED',
      { settled: false, at: this.now() },
      [event],
    );
    if (!done) return undefined;
    this.outcomes?.inc({ outcome: reason });
    this.props.onWrite?.();
    return this.settle(done);
  }

  /** The reservation, expired first when its time has passed and the sweeper has not come by yet. */
  private async current(id: string): Promise<Reservation> {
    const r = await this.getReservation(id);
    if (r.status !== 'HELD' || r.expiresAt.getTime() > this.now().getTime()) return r;
    await this.expire(r);
    return this.getReservation(id);
  }

  /** A repeated reserve call: the first one's answer, once it has one. */
  private async repeated(id: string, orderId: string, items: readonly StockLine[]): Promise<Reservation> {
    const deadline = performance.now() + this.pendingTimeoutMs + 1000;
    let r = await this.getReservation(id);
    while (r.status === 'PENDING' && performance.now() < deadline) {
      await sleep(25);
      r = await this.getReservation(id);
    }
    if (!sameContent(r, orderId, items)) {
      throw new AppError(
        409,
        'reservation-conflict',
        `reservation ${id} exists with a different order or items`,
      );
    }
    if (r.status === 'REJECTED') throw rejectionError(r.rejection ?? { code: 'out-of-stock', products: [] });
    if (r.status === 'PENDING') {
      throw new AppError(409, 'reservation-pending', `reservation ${id} is still being made; try again`);
    }
    return r;
  }

  /** Why a reservation could not be made, as seen now: `items` are the failed one and those not tried. */
  private async diagnose(items: readonly StockLine[]): Promise<Rejection> {
    const levels = new Map(
      (await this.props.stock.list(items.map((i) => i.productId))).map((l) => [l.productId, l]),
    );
    const unknown = items.filter((i) => !levels.has(i.productId)).map((i) => i.productId);
    if (unknown.length > 0) return { code: 'product-not-found', products: unknown };
    const short = items
      .filter((i) => (levels.get(i.productId)?.available ?? 0) < i.quantity)
      .map((i) => i.productId);
    // Units returned meanwhile: still name the product whose hold failed.
    return { code: 'out-of-stock', products: short.length > 0 ? short : [items[0].productId] };
  }
}

function rejectionError(rejection: Rejection): AppError {
  const products = [...rejection.products];
  switch (rejection.code) {
    case 'product-not-found':
      return productNotFound(products);
    case 'reservation-timed-out':
      return new AppError(409, 'reservation-timed-out', 'the reservation took too long and was abandoned');
    case 'out-of-stock':
      return new AppError(409, 'out-of-stock', `not enough stock for ${products.join(', ')}`, {
        extensions: { products },
      });
  }
}

function productNotFound(products: readonly string[]): AppError {
  return new AppError(404, 'product-not-found', `no stock is known for ${products.join(', ')}`, {
    extensions: { products },
  });
}

function reservationNotFound(id: string): AppError {
  return new AppError(404, 'reservation-not-found', `no reservation ${id}`);
}

function notHeld(r: Reservation): AppError {
  return new AppError(409, 'reservation-not-held', `reservation ${r.id} is ${r.status}, not HELD`, {
    extensions: { reservationStatus: r.status },
  });
}
