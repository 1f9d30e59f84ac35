import type { CatalogClient, CatalogProduct } from './catalog-client.ts';

/** A small product table standing in for the catalog service. */
export class InMemoryCatalogClient implements CatalogClient {
  private readonly products = new Map<string, CatalogProduct>();

  constructor(products: readonly CatalogProduct[] = []) {
    for (const p of products) this.products.set(p.id, p);
  }

  set(product: CatalogProduct): void {
    this.products.set(product.id, product);
  }

  delete(productId: string): void {
    this.products.delete(productId);
  }

  /** How many lookups were made: the cart must price a whole cart in one. */
  calls = 0;

  getProducts(ids: readonly string[]): Promise<ReadonlyMap<string, CatalogProduct>> {
    this.calls++;
    const found = new Map<string, CatalogProduct>();
    for (const id of ids) {
      const p = this.products.get(id);
      if (p) found.set(id, { ...p });
    }
    return Promise.resolve(found);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
