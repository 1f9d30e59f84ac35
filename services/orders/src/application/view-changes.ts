import type { OrderView } from '../domain/order-aggregate.ts';

/**
 * Tells readers waiting in this process (`Prefer: wait`) that an order's state moved: a command folded a new state,
 * or the projector wrote the read model. Another replica's writes are not seen here; waiters re-read on their own.
 */
export class ViewChanges {
  private readonly waiting = new Map<string, Set<(view: OrderView) => void>>();

  changed(view: OrderView): void {
    const waiters = this.waiting.get(view.id);
    if (!waiters) return;
    this.waiting.delete(view.id);
    for (const wake of waiters) wake(view);
  }

  /** The next state of the order seen in this process, or undefined after `ms` or on abort. */
  next(orderId: string, ms: number, signal?: AbortSignal): Promise<OrderView | undefined> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(orderId) ?? new Set();
      this.waiting.set(orderId, waiters);
      const done = (view: OrderView | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiting.get(orderId) === waiters) this.waiting.delete(orderId);
        resolve(view);
      };
      const wake = (view: OrderView): void => done(view);
      const aborted = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), ms);
      waiters.add(wake);
      signal?.addEventListener('abort', aborted, { once: true });
      if (signal?.aborted) aborted();
    });
  }

  /** Readers waiting now (a gauge, and for tests). */
  get size(): number {
    let n = 0;
    for (const waiters of this.waiting.values()) n += waiters.size;
    return n;
  }
}
