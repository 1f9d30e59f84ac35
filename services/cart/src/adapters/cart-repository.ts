import type { CartLine } from '../domain/cart.ts';

export interface BoughtLine {
  readonly productId: string;
  readonly quantity: number;
}

/**
 * One cart per user, one field per line, so concurrent changes of different lines never overwrite each other. The
 * cart expires `ttlSeconds` after its last write (reads do not extend it).
 */
export interface CartRepository {
  lines(userId: string): Promise<CartLine[]>;
  line(userId: string, productId: string): Promise<CartLine | undefined>;
  /** Sets the line; false (nothing written) when it is a new line and the cart already has `maxLines`. */
  putLine(userId: string, line: CartLine, maxLines: number): Promise<boolean>;
  removeLine(userId: string, productId: string): Promise<void>;
  clear(userId: string): Promise<void>;
  /**
   * Takes what an order bought out of the cart: each line's quantity goes down by what was bought, and a line reaching
   * zero goes. Once per order: a repeat (a retried call) changes nothing, so lines added after the first call stay.
   * False for a repeat.
   */
  removeBought(userId: string, orderId: string, bought: readonly BoughtLine[]): Promise<boolean>;
  /** Seconds until the cart expires; undefined for an empty (or expired) cart. */
  expiresIn(userId: string): Promise<number | undefined>;
}
