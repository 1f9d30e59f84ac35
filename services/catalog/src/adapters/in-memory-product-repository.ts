import { InMemoryOutboxStore } from '@meshmart/kit/events';
import {
  applyPatch,
  compareProducts,
  matchesText,
  type Product,
  type ProductPatch,
  type ProductQuery,
} from '../domain/product.ts';
import {
  PRODUCTS_COLLECTION,
  type EventsFor,
  type ProductList,
  type ProductRepository,
} from './product-repository.ts';

/** The twin used without MONGO_URL: same ordering and matching as the Mongo adapter. */
export class InMemoryProductRepository implements ProductRepository {
  readonly outbox = new InMemoryOutboxStore();
  private readonly products = new Map<string, Product>();

  findById(id: string): Promise<Product | undefined> {
    const product = this.products.get(id);
    return Promise.resolve(product ? { ...product } : undefined);
  }

  findByIds(ids: readonly string[]): Promise<Product[]> {
    return Promise.resolve(
      ids.flatMap((id) => (this.products.has(id) ? [{ ...this.products.get(id)! }] : [])),
    );
  }

  list(query: ProductQuery): Promise<ProductList> {
    const matching = [...this.products.values()]
      .filter((p) => query.category === undefined || p.category === query.category)
      .filter((p) => query.q === undefined || matchesText(p, query.q))
      .sort(compareProducts);
    const start = (query.page - 1) * query.limit;
    return Promise.resolve({
      items: matching.slice(start, start + query.limit).map((p) => ({ ...p })),
      total: matching.length,
    });
  }

  countByCategory(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const p of this.products.values()) counts.set(p.category, (counts.get(p.category) ?? 0) + 1);
    return Promise.resolve(counts);
  }

  update(id: string, patch: ProductPatch, eventsFor: EventsFor): Promise<Product | undefined> {
    const current = this.products.get(id);
    if (!current) return Promise.resolve(undefined);
    const next = applyPatch(current, patch);
    const events = eventsFor(next);
    this.products.set(id, next);
    if (events.length > 0) this.outbox.add({ collection: PRODUCTS_COLLECTION, id }, events);
    return Promise.resolve({ ...next });
  }

  seed(products: readonly Product[]): Promise<number> {
    let inserted = 0;
    for (const p of products) {
      if (this.products.has(p.id)) continue;
      this.products.set(p.id, { ...p });
      inserted++;
    }
    return Promise.resolve(inserted);
  }

  count(): Promise<number> {
    return Promise.resolve(this.products.size);
  }
}
