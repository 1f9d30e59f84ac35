/// <reference lib="dom" />
// The signed-in user's cart as the header and pages see it; every change goes through the gateway first.
import { api, type Cart } from './api.ts';
import { session } from './session.ts';

/** The cart service's limit per line (MAX_QUANTITY_PER_ITEM). */
export const MAX_QUANTITY = 10;

type Listener = (cart: Cart | undefined) => void;
let current: Cart | undefined;
const listeners = new Set<Listener>();

function set(cart: Cart | undefined): void {
  current = cart;
  listeners.forEach((l) => l(cart));
}

export const cartStore = {
  get: (): Cart | undefined => current,
  count: (): number => current?.itemCount ?? current?.items.reduce((n, l) => n + l.quantity, 0) ?? 0,
  quantityOf: (productId: string): number =>
    current?.items.find((l) => l.productId === productId)?.quantity ?? 0,
  onChange(listener: Listener): void {
    listeners.add(listener);
  },
  async refresh(signal?: AbortSignal): Promise<Cart | undefined> {
    if (!session.token()) {
      set(undefined);
      return undefined;
    }
    const cart = await api.cart(signal);
    set(cart);
    return cart;
  },
  /** Refreshes without failing the caller: the header count is a nicety, the page shows its own errors. */
  refreshQuietly(): void {
    cartStore.refresh().catch(() => undefined);
  },
  async add(productId: string, quantity: number): Promise<Cart> {
    const wanted = Math.min(MAX_QUANTITY, cartStore.quantityOf(productId) + quantity);
    const cart = await api.setQuantity(productId, wanted);
    set(cart);
    return cart;
  },
  async setQuantity(productId: string, quantity: number): Promise<Cart> {
    const cart = await api.setQuantity(productId, quantity);
    set(cart);
    return cart;
  },
  async remove(productId: string): Promise<Cart | undefined> {
    const cart = await api.removeItem(productId);
    if (cart && Array.isArray(cart.items)) set(cart);
    else return cartStore.refresh();
    return cart;
  },
  clear(): void {
    set(undefined);
  },
};
