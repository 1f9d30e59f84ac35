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

  getProduct(productId: string): Promise<CatalogProduct | undefined> {
    const p = this.products.get(productId);
    return Promise.resolve(p ? { ...p } : undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
