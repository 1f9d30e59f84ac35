import { AppError, type Logger, type Metrics } from '@meshmart/kit';
import { outboxEntry, type OutboxEntry, type OutboxWritten } from '@meshmart/kit/events';
import { events, type ProductUpdatedData } from '@meshmart/contracts';
import { CATEGORIES_KEY, listKey, productKey, type ProductCache } from '../adapters/product-cache.ts';
import { PRODUCTS_COLLECTION, type ProductRepository } from '../adapters/product-repository.ts';
import { catalogMetrics } from '../metrics.ts';
import {
  checkPatch,
  queryKey,
  type Category,
  type CategoryCount,
  type Product,
  type ProductPage,
  type ProductPatch,
  type ProductQuery,
} from './product.ts';

export const CATALOG_TOPIC = 'catalog.events';
const LOG_EVERY_MS = 10_000;

type CacheKind = 'product' | 'list' | 'categories';

export interface CatalogProps {
  readonly service: string;
  readonly products: ProductRepository;
  readonly cache: ProductCache;
  readonly categories: readonly Category[];
  readonly metrics: Metrics;
  readonly logger: Logger;
  /**
   * Called once a write that stored outbox entries is acknowledged, with the document and its entries: the outbox
   * relay's `offer`, which publishes them at once and refuses (throws) an entry on a topic catalog does not publish.
   */
  readonly outboxWritten?: OutboxWritten;
}

/**
 * The catalog's use cases: cache-aside reads (a broken cache only costs a store read, counted) and admin updates
 * that write the store with their event, then invalidate the cache.
 */
export class Catalog {
  private readonly requests;
  private readonly errors;
  /** When each cache operation last logged a failure: an outage is counted per call, logged once in a while. */
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly props: CatalogProps) {
    this.requests = props.metrics.counter(catalogMetrics.cacheRequests);
    this.errors = props.metrics.counter(catalogMetrics.cacheErrors);
  }

  get categories(): readonly Category[] {
    return this.props.categories;
  }

  async product(id: string): Promise<Product> {
    const product = await this.cached('product', productKey(id), () => this.props.products.findById(id));
    if (!product) throw AppError.notFound(`there is no product '${id}'`);
    return product;
  }

  /**
   * Several products in one call (cart re-pricing its lines): each looked up in the cache, the misses read from the
   * store in one query and cached. Unknown ids are left out.
   */
  async products(ids: readonly string[]): Promise<Product[]> {
    const unique = [...new Set(ids)];
    const found = new Map<string, Product>();
    const misses: { id: string; generation?: string }[] = [];
    await Promise.all(
      unique.map(async (id) => {
        try {
          const hit = await this.props.cache.lookup<Product>(productKey(id));
          this.requests.inc({ kind: 'product', result: hit.value === undefined ? 'miss' : 'hit' });
          if (hit.value === undefined) misses.push({ id, generation: hit.generation });
          else found.set(id, hit.value);
        } catch (err) {
          this.requests.inc({ kind: 'product', result: 'error' });
          this.cacheFailed('lookup', err, productKey(id));
          misses.push({ id });
        }
      }),
    );
    if (misses.length > 0) {
      for (const p of await this.props.products.findByIds(misses.map((m) => m.id))) found.set(p.id, p);
      await Promise.all(
        misses.map(async ({ id, generation }) => {
          const product = found.get(id);
          if (generation === undefined || !product) return;
          try {
            await this.props.cache.store(productKey(id), generation, product);
          } catch (err) {
            this.cacheFailed('store', err, productKey(id));
          }
        }),
      );
    }
    return unique.flatMap((id) => found.get(id) ?? []);
  }

  async list(query: ProductQuery): Promise<ProductPage> {
    const page = await this.cached('list', listKey(queryKey(query)), async () => {
      const { items, total } = await this.props.products.list(query);
      return { items, page: query.page, limit: query.limit, total };
    });
    return page;
  }

  async categoryCounts(): Promise<CategoryCount[]> {
    return this.cached('categories', CATEGORIES_KEY, async () => {
      const counts = await this.props.products.countByCategory();
      return this.props.categories.map((c) => ({ id: c.id, name: c.name, count: counts.get(c.id) ?? 0 }));
    });
  }

  async update(id: string, patch: ProductPatch, actor?: string): Promise<Product> {
    checkPatch(patch, this.props.categories);
    let entries: readonly OutboxEntry[] = [];
    const updated = await this.props.products.update(id, patch, (after) => {
      const data: ProductUpdatedData = {
        productId: after.id,
        name: after.name,
        priceCents: after.priceCents,
        category: after.category,
        ...(actor ? { actor } : {}),
      };
      const event = events.assertValid(CATALOG_TOPIC, { type: 'ProductUpdated', version: 1, data });
      entries = [outboxEntry(CATALOG_TOPIC, event, this.props.service)];
      return entries;
    });
    if (!updated) throw AppError.notFound(`there is no product '${id}'`);
    this.props.outboxWritten?.({ collection: PRODUCTS_COLLECTION, id }, entries);
    try {
      await this.props.cache.invalidate(id);
    } catch (err) {
      // The store is already right; readers may see the old entry until its TTL ends.
      this.errors.inc({ operation: 'invalidate' });
      this.props.logger.error(
        { err, productId: id },
        'cache invalidation failed; entries expire with their TTL',
      );
    }
    return updated;
  }

  /** Cache-aside: look up, else load and store under the generation the lookup saw. Undefined is not cached. */
  private async cached<T>(kind: CacheKind, key: string, load: () => Promise<T>): Promise<T> {
    let generation: string | undefined;
    try {
      const found = await this.props.cache.lookup<T>(key);
      if (found.value !== undefined) {
        this.requests.inc({ kind, result: 'hit' });
        return found.value;
      }
      generation = found.generation;
      this.requests.inc({ kind, result: 'miss' });
    } catch (err) {
      this.requests.inc({ kind, result: 'error' });
      this.cacheFailed('lookup', err, key);
    }
    const value = await load();
    if (generation !== undefined && value !== undefined) {
      try {
        await this.props.cache.store(key, generation, value);
      } catch (err) {
        this.cacheFailed('store', err, key);
      }
    }
    return value;
  }

  private cacheFailed(operation: 'lookup' | 'store', err: unknown, key: string): void {
    this.errors.inc({ operation });
    const now = performance.now();
    if (now - (this.lastLogged.get(operation) ?? -Infinity) < LOG_EVERY_MS) return;
    this.lastLogged.set(operation, now);
    this.props.logger.warn(
      { err, key, operation },
      operation === 'lookup' ? 'cache lookup failed; reading the store' : 'cache store failed',
    );
  }
}
