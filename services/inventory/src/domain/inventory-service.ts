import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, BoundedMap, type Logger, type Metrics } from '@meshmart/kit';
import type { OutboxEntry } from '@meshmart/kit/events';
import type { ReservationRepository } from '../adapters/reservation-repository.ts';
import type { StockRepository } from '../adapters/stock-repository.ts';
import { inventoryMetrics } from '../metrics.ts';
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
  /**
   * Called after every write that carries events: which collection, the document's id (product or reservation) and
   * the events, for that outbox's relay to publish at once.
   */
  readonly onWrite?: (written: 'stock' | 'reservation', id: string, events: readonly OutboxEntry[]) => void;
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

/** What never changes once a reservation exists: all its events need, so a commit or release need not read it first. */
type Terms = Pick<Reservation, 'id' | 'orderId' | 'items'>;

/** Reservations whose terms this process remembers (a miss costs one read). */
const KNOWN_RESERVATIONS = 10_000;

/**
 * Stock and reservations on single-document atomicity alone (no transactions). How units are never lost nor counted
 * twice:
 * - A unit moves only through an atomic conditional change of one product's stock that also adds or removes the
 *   reservation id in its `holds` (StockRepository). So each movement for a reservation happens at most once per
 *   product, `available` never drops below zero (the filter demands enough) and `reserved` only drops by a hold's
 *   own units. The holds are also the record of a reservation's progress, written with the units they move.
 * - The reservation document is written FIRST, as PENDING with its items, before any unit moves: its unique id makes
 *   the one call that inserted it the only one that ever adds holds for it. Its status is the intent and changes only
 *   through conditional transitions (PENDING->HELD|REJECTED, HELD->COMMITTED|RELEASED|EXPIRED), so exactly one caller
 *   wins each, even with concurrent calls or a sweeper; the transition's event is written in the same update.
 * - Lines are held one by one; when one fails the reservation is REJECTED and the lines taken are returned, so a
 *   reservation is all or nothing.
 * - After a transition to a final status its winner applies the stock effects (consumes or returns each hold). A
 *   hold of a final reservation is therefore always an effect still to apply — the process died in between, or a
 *   stalled reserve call held a line after its reservation was rejected — and the sweeper's audit of holds applies
 *   it. The hold makes that idempotent, so the caller and the sweeper may both try.
 * - A reserve call that dies midway leaves a PENDING reservation: after `pendingTimeoutMs` the sweeper rejects it
 *   and returns whatever holds it had. If the call was only slow, its PENDING->HELD transition then fails and it
 *   returns its holds itself; a hold it adds after the sweeper's pass is found by the audit.
 */
export class InventoryService {
  private readonly now: () => Date;
  readonly pendingTimeoutMs: number;
  private readonly outcomes;
  private readonly known = new BoundedMap<string, Terms>(KNOWN_RESERVATIONS);

  constructor(private readonly props: InventoryServiceProps) {
    this.now = props.now ?? (() => new Date());
    this.pendingTimeoutMs = props.pendingTimeoutMs ?? 5000;
    this.outcomes = props.metrics?.counter(inventoryMetrics.reservationOutcomes);
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
    this.props.onWrite?.('stock', productId, [event]);
    return level;
  }

  /** Creates stock for products inventory does not know yet; returns how many were created. */
  async seed(productIds: readonly string[], units: number): Promise<number> {
    let created = 0;
    for (const productId of productIds) {
      const event = inventoryEvent('StockAdjusted', { productId, available: units });
      if (await this.props.stock.seed(productId, units, [event])) {
        created++;
        this.props.onWrite?.('stock', productId, [event]);
      }
    }
    return created;
  }

  async getReservation(id: string): Promise<Reservation> {
    const r = await this.props.reservations.get(id);
    if (!r) throw reservationNotFound(id);
    this.remember(r);
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
    };
    if (!(await this.props.reservations.create(pending))) {
      return { created: false, reservation: await this.repeated(id, orderId, items) };
    }
    this.remember(pending);
    let taken = 0;
    for (const item of pending.items) {
      if (!(await this.props.stock.hold(item.productId, id, item.quantity))) break;
      taken++;
    }
    if (taken === pending.items.length) {
      const event = inventoryEvent(
        'StockReserved',
        { reservationId: id, orderId, items: [...pending.items], expiresAt: pending.expiresAt.toISOString() },
        options.context,
      );
      const held = await this.props.reservations.transition(id, ['PENDING'], 'HELD', { at: this.now() }, [
        event,
      ]);
      if (held) {
        this.outcomes?.inc({ outcome: 'held' });
        this.props.onWrite?.('reservation', id, [event]);
        return { created: true, reservation: held };
      }
      // The sweeper took this reservation for abandoned while we were holding units: give them back.
      const rejected = await this.getReservation(id);
      await this.applyStock(rejected);
      throw rejectionError(rejected.rejection ?? { code: 'reservation-timed-out', products: [] });
    }
    const rejection = await this.diagnose(pending.items.slice(taken));
    const rejected =
      (await this.props.reservations.transition(
        id,
        ['PENDING'],
        'REJECTED',
        { rejection, at: this.now() },
        [],
      )) ?? (await this.getReservation(id));
    // Only this call adds holds for this id, so the lines it took are all there is to give back.
    await this.applyStock(rejected, pending.items.slice(0, taken));
    this.outcomes?.inc({ outcome: 'rejected' });
    throw rejectionError(rejected.rejection ?? rejection);
  }

  async commit(id: string, options: Options = {}): Promise<Reservation> {
    const r = await this.close(id, 'COMMITTED', options.context);
    if (r.status === 'COMMITTED') return r;
    throw notHeld(r);
  }

  async release(id: string, options: Options = {}): Promise<Reservation> {
    const r = await this.close(id, 'RELEASED', options.context);
    if (r.status === 'COMMITTED') {
      throw new AppError(
        409,
        'reservation-committed',
        `reservation ${id} is committed; it cannot be released`,
      );
    }
    if (r.status === 'PENDING') {
      throw new AppError(409, 'reservation-pending', `reservation ${id} is still being made; try again`);
    }
    // RELEASED, EXPIRED or REJECTED: the units are back (or were never taken), which is what was asked.
    return r;
  }

  /** For the sweeper: a HELD reservation past its expiry gives its units back. */
  async expire(r: Reservation): Promise<boolean> {
    const event = inventoryEvent('StockReleased', {
      reservationId: r.id,
      orderId: r.orderId,
      items: [...r.items],
      reason: 'expired',
    });
    const done = await this.props.reservations.transition(r.id, ['HELD'], 'EXPIRED', { at: this.now() }, [
      event,
    ]);
    if (!done) return false;
    this.outcomes?.inc({ outcome: 'expired' });
    this.props.onWrite?.('reservation', r.id, [event]);
    await this.applyStock(done);
    return true;
  }

  /** For the sweeper: a reservation PENDING for too long is rejected and its holds returned. */
  async rejectStale(r: Reservation): Promise<boolean> {
    const rejected = await this.props.reservations.transition(
      r.id,
      ['PENDING'],
      'REJECTED',
      { rejection: { code: 'reservation-timed-out', products: [] }, at: this.now() },
      [],
    );
    if (!rejected) return false;
    this.props.logger.warn({ reservationId: r.id }, 'abandoned reservation rejected; its units are returned');
    this.outcomes?.inc({ outcome: 'timed_out' });
    await this.applyStock(rejected);
    return true;
  }

  /**
   * For the sweeper: applies the stock effects a final reservation still has pending — its process died between the
   * transition and the stock writes, or a stalled reserve call added a hold after its reservation was rejected.
   * Returns how many holds were consumed or returned.
   */
  async auditHolds(limit: number): Promise<number> {
    const found = await this.props.stock.withHolds(limit);
    const holders = [...new Set(found.flatMap((f) => f.holds))];
    if (holders.length === 0) return 0;
    const byId = new Map((await this.props.reservations.getMany(holders)).map((r) => [r.id, r]));
    let repaired = 0;
    for (const { productId, holds } of found) {
      for (const holder of holds) {
        const r = byId.get(holder);
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
        repaired += await this.applyStock(r, [item]);
      }
    }
    return repaired;
  }

  /**
   * Moves a HELD reservation that has not expired to `to` and applies the stock effects, then answers the reservation
   * as it is. The first try needs no read when this process knows the reservation's terms; one past its expiry is
   * expired instead, as the sweeper would.
   */
  private async close(
    id: string,
    to: 'COMMITTED' | 'RELEASED',
    context?: TraceContext,
  ): Promise<Reservation> {
    let terms: Terms | undefined = this.known.get(id);
    // Each round ends in an answer unless another writer changed the reservation meanwhile; a few are plenty.
    for (let round = 0; round < 4; round++) {
      if (terms) {
        const done = await this.moveHeld(terms, to, context);
        if (done) return done;
      }
      const r = await this.getReservation(id);
      if (r.status !== 'HELD') return r;
      if (r.expiresAt.getTime() <= this.now().getTime()) {
        await this.expire(r);
        terms = undefined;
      } else {
        terms = r;
      }
    }
    throw new AppError(503, 'write-contention', `reservation ${id} keeps changing; try again`);
  }

  private async moveHeld(
    terms: Terms,
    to: 'COMMITTED' | 'RELEASED',
    context?: TraceContext,
  ): Promise<Reservation | undefined> {
    const { id: reservationId, orderId } = terms;
    const event =
      to === 'COMMITTED'
        ? inventoryEvent('StockCommitted', { reservationId, orderId, items: [...terms.items] }, context)
        : inventoryEvent(
            'StockReleased',
            { reservationId, orderId, items: [...terms.items], reason: 'released' },
            context,
          );
    const now = this.now();
    const done = await this.props.reservations.transition(
      reservationId,
      ['HELD'],
      to,
      { at: now, unexpiredAt: now },
      [event],
    );
    if (!done) return undefined;
    this.outcomes?.inc({ outcome: to === 'COMMITTED' ? 'committed' : 'released' });
    this.props.onWrite?.('reservation', reservationId, [event]);
    await this.applyStock(done);
    return done;
  }

  /**
   * The stock effects of a final status for `items` (all by default): consumes (COMMITTED) or returns each hold still
   * present. Idempotent; answers how many holds it moved.
   */
  private async applyStock(r: Reservation, items: readonly StockLine[] = r.items): Promise<number> {
    if (!FINAL_STATUSES.includes(r.status)) return 0;
    const moved = await Promise.all(
      items.map((item) =>
        r.status === 'COMMITTED'
          ? this.props.stock.consumeHold(item.productId, r.id, item.quantity)
          : this.props.stock.returnHold(item.productId, r.id, item.quantity),
      ),
    );
    return moved.filter(Boolean).length;
  }

  private remember(r: Reservation): void {
    if (!this.known.get(r.id)) this.known.set(r.id, { id: r.id, orderId: r.orderId, items: r.items });
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
