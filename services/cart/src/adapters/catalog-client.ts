import type { NewEvent } from '@meshmart/kit/events';

/** What the cart needs of a catalog product. */
export interface CatalogProduct {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly priceCents: number;
  readonly currency: string;
}

export interface CatalogLookupOptions {
  /** The caller's trace context (a handler's `trace`). */
  readonly context?: NewEvent['context'];
}

export interface CatalogClient {
  /**
   * The products the catalog knows among `ids`, by id, in one call (the cart re-prices all its lines at once);
   * throws a 503 AppError when the catalog fails.
   */
  getProducts(
    ids: readonly string[],
    options?: CatalogLookupOptions,
  ): Promise<ReadonlyMap<string, CatalogProduct>>;
  close(): Promise<void>;
}
