import type { OrderView } from '../domain/order-aggregate.ts';
import type { OrderListQuery, OrderPage, OrderViewRepository, PutOutcome } from './order-view-repository.ts';

export class InMemoryOrderViewRepository implements OrderViewRepository {
  private readonly views = new Map<string, OrderView>();

  get(orderId: string): Promise<OrderView | undefined> {
    const view = this.views.get(orderId);
    return Promise.resolve(view ? structuredClone(view) : undefined);
  }

  list(query: OrderListQuery): Promise<OrderPage> {
    const matching = [...this.views.values()]
      .filter((v) => query.userId === undefined || v.userId === query.userId)
      .sort((a, b) => (a.createdAt === b.createdAt ? cmp(a.id, b.id) : cmp(b.createdAt, a.createdAt)));
    const start = (query.page - 1) * query.limit;
    return Promise.resolve({
      items: structuredClone(matching.slice(start, start + query.limit)),
      total: matching.length,
    });
  }

  put(view: OrderView): Promise<PutOutcome> {
    const current = this.views.get(view.id);
    if (current && current.version >= view.version) return Promise.resolve('stale');
    this.views.set(view.id, structuredClone(view));
    return Promise.resolve('written');
  }

  clear(): Promise<number> {
    const n = this.views.size;
    this.views.clear();
    return Promise.resolve(n);
  }

  /** For tests: corrupts a view in place, as a bad deployment or a manual edit might. */
  overwrite(view: OrderView): void {
    this.views.set(view.id, structuredClone(view));
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
