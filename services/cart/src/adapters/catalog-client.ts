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
  /** The product, or undefined when the catalog does not know it; throws a 503 AppError when the catalog fails. */
  getProduct(productId: string, options?: CatalogLookupOptions): Promise<CatalogProduct | undefined>;
  close(): Promise<void>;
}
