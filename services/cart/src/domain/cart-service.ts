import { AppError } from '@meshmart/kit';
import type { CartRepository } from '../adapters/cart-repository.ts';
import type { CatalogClient, CatalogLookupOptions } from '../adapters/catalog-client.ts';
import { viewOf, type CartView } from './cart.ts';

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

  async get(userId: string): Promise<CartView> {
    return viewOf(userId, await this.props.carts.lines(userId));
  }

  /** Sets the quantity of a product (not adds to it), priced and named from the catalog now. */
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
    const product = await this.props.catalog.getProduct(productId, options);
    if (!product) {
      throw new AppError(404, 'product-not-found', `the catalog has no product ${productId}`, {
        extensions: { productId },
      });
    }
    const existing = await this.props.carts.line(userId, productId);
    const line = {
      productId,
      name: product.name,
      image: product.image,
      unitPriceCents: product.priceCents,
      quantity,
      addedAt: existing?.addedAt ?? this.now().toISOString(),
    };
    if (!(await this.props.carts.putLine(userId, line, maxLines))) {
      throw new AppError(409, 'cart-full', `a cart holds at most ${maxLines} different products`, {
        extensions: { maxLines },
      });
    }
    return this.get(userId);
  }

  async removeItem(userId: string, productId: string): Promise<CartView> {
    await this.props.carts.removeLine(userId, productId);
    return this.get(userId);
  }

  clear(userId: string): Promise<void> {
    return this.props.carts.clear(userId);
  }
}
