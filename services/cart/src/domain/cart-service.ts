import { AppError } from '@meshmart/kit';
import type { BoughtLine, CartRepository } from '../adapters/cart-repository.ts';
import type { CatalogClient, CatalogLookupOptions, CatalogProduct } from '../adapters/catalog-client.ts';
import { viewOf, type CartLine, type CartView } from './cart.ts';

export interface CartLimits {
  /** Largest quantity of one product. */
  readonly maxQuantityPerItem: number;
  /** Most lines (distinct products) in one cart. */
  readonly maxLines: number;
}

export interface CartServiceProps {
  readonly carts: CartRepository;
  readonly catalog: CatalogClient;
  readonly limits: CartLimits;
  readonly now?: () => Date;
}

export class CartService {
  private readonly now: () => Date;

  constructor(private readonly props: CartServiceProps) {
    this.now = props.now ?? (() => new Date());
  }

  get limits(): CartLimits {
    return this.props.limits;
  }

  /** The cart re-priced from the catalog in one call: a checkout charges what this shows. */
  async get(userId: string, options: CatalogLookupOptions = {}): Promise<CartView> {
    return this.priced(userId, await this.props.carts.lines(userId), new Map(), options);
  }

  /** Sets the quantity of a product (not adds to it); the product and every other line priced in one catalog call. */
  async setItem(
    userId: string,
    productId: string,
    quantity: number,
    options: CatalogLookupOptions = {},
  ): Promise<CartView> {
    const { maxQuantityPerItem, maxLines } = this.props.limits;
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > maxQuantityPerItem) {
      throw AppError.badRequest('the request is not valid', [
        { field: 'body/quantity', message: `must be an integer from 1 to ${maxQuantityPerItem}` },
      ]);
    }
    const before = await this.props.carts.lines(userId);
    const ids = [productId, ...before.map((l) => l.productId).filter((id) => id !== productId)];
    const current = await this.props.catalog.getProducts(ids, options);
    const product = current.get(productId);
    if (!product) {
      throw new AppError(404, 'product-not-found', `the catalog has no product ${productId}`, {
        extensions: { productId },
      });
    }
    const line = {
      productId,
      name: product.name,
      image: product.image,
      unitPriceCents: product.priceCents,
      quantity,
      addedAt: before.find((l) => l.productId === productId)?.addedAt ?? this.now().toISOString(),
    };
    if (!(await this.props.carts.putLine(userId, line, maxLines))) {
      throw new AppError(409, 'cart-full', `a cart holds at most ${maxLines} different products`, {
        extensions: { maxLines },
      });
    }
    return this.priced(userId, await this.props.carts.lines(userId), current, options, ids);
  }

  async removeItem(userId: string, productId: string, options: CatalogLookupOptions = {}): Promise<CartView> {
    await this.props.carts.removeLine(userId, productId);
    return this.get(userId, options);
  }

  /**
   * The view of `lines` at the catalog's prices: `known` already holds the lookup of the ids `asked`, so only lines
   * put meanwhile by a concurrent request (never in the common case) cost another call.
   */
  private async priced(
    userId: string,
    lines: readonly CartLine[],
    known: ReadonlyMap<string, CatalogProduct>,
    options: CatalogLookupOptions,
    asked: readonly string[] = [],
  ): Promise<CartView> {
    const missing = lines.map((l) => l.productId).filter((id) => !asked.includes(id));
    if (missing.length === 0) return viewOf(userId, lines, known);
    const more = await this.props.catalog.getProducts(missing, options);
    return viewOf(userId, lines, new Map([...known, ...more]));
  }

  clear(userId: string): Promise<void> {
    return this.props.carts.clear(userId);
  }

  /** What an order bought leaves the cart, once per order; lines added since stay. */
  removeBought(userId: string, orderId: string, bought: readonly BoughtLine[]): Promise<boolean> {
    return this.props.carts.removeBought(userId, orderId, bought);
  }
}
