// The request mix, modelled on Online Boutique's load generator (src/loadgenerator/locustfile.py). Its task weights
// are index 1, setCurrency 2, browseProduct 10, addToCart 2 (a product page, then the add), viewCart 3 and
// checkout 1 (an add to cart, then the checkout). Flattened into single requests that gives product page 13,
// add to cart 3, view cart 3, index 1 and checkout 1; MeshMart has no currencies, so setCurrency's weight goes to
// search and category pages, which Online Boutique's shop lacks.

export const KINDS = ['home', 'product', 'search', 'cart-add', 'cart', 'checkout'] as const;
export type MixKind = (typeof KINDS)[number];
/** Kinds a virtual user sends instead, when its state calls for it (following an order it placed). */
export type Kind = MixKind | 'order';

export const WEIGHTS: Readonly<Record<MixKind, number>> = {
  home: 1,
  product: 13,
  search: 2,
  'cart-add': 3,
  cart: 3,
  checkout: 1,
};

/** mulberry32: a small seeded generator, so a run's sequence of requests can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws kinds with the given weights. */
export function picker(
  random: () => number,
  weights: Readonly<Record<MixKind, number>> = WEIGHTS,
): () => MixKind {
  const entries = KINDS.map((k) => [k, weights[k]] as const).filter(([, w]) => w > 0);
  const total = entries.reduce((n, [, w]) => n + w, 0);
  if (total <= 0) throw new Error('load: every weight of the mix is zero');
  return () => {
    let x = random() * total;
    for (const [kind, w] of entries) {
      if (x < w) return kind;
      x -= w;
    }
    return entries[entries.length - 1][0];
  };
}
