export * from './events.ts';
export * from './limits.ts';
/** HTTP contracts, one namespace per service: what its routes take, and what the gateway composes its own from. */
export * as cartApi from './http/cart.ts';
export * as checkoutApi from './http/checkout.ts';
