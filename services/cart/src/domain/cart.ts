/** One line of a cart as stored: named and priced from the catalog when it was put (shown at today's price). */
export interface CartLine {
  readonly productId: string;
  readonly name: string;
  readonly image: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
  /** When the product was first put in the cart (ISO 8601): keeps the lines in the order they were added. */
  readonly addedAt: string;
}

/** What the catalog says of a product now: a line is shown (and bought) at this price. */
export interface CurrentProduct {
  readonly name: string;
  readonly image: string;
  readonly priceCents: number;
}

export interface CartItemView {
  readonly productId: string;
  readonly name: string;
  readonly image: string;
  /** The catalog's price now: what a checkout charges. */
  readonly unitPriceCents: number;
  readonly quantity: number;
  readonly lineTotalCents: number;
  /** The price when the line was put, present only when the catalog's price has changed since. */
  readonly priceWhenAddedCents?: number;
  /** The catalog no longer has the product: shown at its last price, and a checkout is refused. */
  readonly unavailable?: true;
}

export interface CartView {
  readonly userId: string;
  readonly items: readonly CartItemView[];
  readonly totalCents: number;
  readonly currency: 'USD';
  readonly itemCount: number;
}

/** The cart as shown and bought: every line at the catalog's current price (`current`, by product id). */
export function viewOf(
  userId: string,
  lines: readonly CartLine[],
  current: ReadonlyMap<string, CurrentProduct>,
): CartView {
  const sorted = [...lines].sort(
    (a, b) => a.addedAt.localeCompare(b.addedAt) || a.productId.localeCompare(b.productId),
  );
  const items = sorted.map((l): CartItemView => {
    const now = current.get(l.productId);
    const unitPriceCents = now ? now.priceCents : l.unitPriceCents;
    return {
      productId: l.productId,
      name: now?.name ?? l.name,
      image: now?.image ?? l.image,
      unitPriceCents,
      quantity: l.quantity,
      lineTotalCents: unitPriceCents * l.quantity,
      ...(now && now.priceCents !== l.unitPriceCents ? { priceWhenAddedCents: l.unitPriceCents } : {}),
      ...(now ? {} : { unavailable: true as const }),
    };
  });
  return {
    userId,
    items,
    totalCents: items.reduce((sum, i) => sum + i.lineTotalCents, 0),
    currency: 'USD',
    itemCount: items.reduce((sum, i) => sum + i.quantity, 0),
  };
}
