import type { CartLine } from '../domain/cart.ts';
import type { BoughtLine, CartRepository } from './cart-repository.ts';

export interface InMemoryCartRepositoryProps {
  readonly ttlSeconds: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** The twin of the Redis carts, with the same TTL rule: a cart vanishes ttlSeconds after its last write. */
export class InMemoryCartRepository implements CartRepository {
  private readonly carts = new Map<string, { lines: Map<string, CartLine>; expiresAt: number }>();
  private readonly now: () => number;
  /** Orders whose purchase has left their cart (the marker keys of the Redis carts). */
  private readonly boughtBy = new Set<string>();

  constructor(private readonly props: InMemoryCartRepositoryProps) {
    this.now = props.now ?? Date.now;
  }

  lines(userId: string): Promise<CartLine[]> {
    return Promise.resolve([...(this.live(userId)?.lines.values() ?? [])].map((l) => ({ ...l })));
  }

  line(userId: string, productId: string): Promise<CartLine | undefined> {
    const line = this.live(userId)?.lines.get(productId);
    return Promise.resolve(line ? { ...line } : undefined);
  }

  putLine(userId: string, line: CartLine, maxLines: number): Promise<boolean> {
    const cart = this.live(userId) ?? { lines: new Map<string, CartLine>(), expiresAt: 0 };
    if (!cart.lines.has(line.productId) && cart.lines.size >= maxLines) return Promise.resolve(false);
    cart.lines.set(line.productId, { ...line });
    cart.expiresAt = this.now() + this.props.ttlSeconds * 1000;
    this.carts.set(userId, cart);
    return Promise.resolve(true);
  }

  removeLine(userId: string, productId: string): Promise<void> {
    const cart = this.live(userId);
    if (cart) {
      cart.lines.delete(productId);
      cart.expiresAt = this.now() + this.props.ttlSeconds * 1000;
      if (cart.lines.size === 0) this.carts.delete(userId);
    }
    return Promise.resolve();
  }

  clear(userId: string): Promise<void> {
    this.carts.delete(userId);
    return Promise.resolve();
  }

  removeBought(userId: string, orderId: string, bought: readonly BoughtLine[]): Promise<boolean> {
    if (this.boughtBy.has(orderId)) return Promise.resolve(false);
    this.boughtBy.add(orderId);
    const cart = this.live(userId);
    for (const b of bought) {
      const line = cart?.lines.get(b.productId);
      if (!cart || !line) continue;
      if (line.quantity > b.quantity)
        cart.lines.set(b.productId, { ...line, quantity: line.quantity - b.quantity });
      else cart.lines.delete(b.productId);
    }
    if (cart && cart.lines.size === 0) this.carts.delete(userId);
    return Promise.resolve(true);
  }

  expiresIn(userId: string): Promise<number | undefined> {
    const cart = this.live(userId);
    return Promise.resolve(cart ? Math.ceil((cart.expiresAt - this.now()) / 1000) : undefined);
  }

  private live(userId: string) {
    const cart = this.carts.get(userId);
    if (cart && cart.expiresAt <= this.now()) {
      this.carts.delete(userId);
      return undefined;
    }
    return cart;
  }
}
