/** One line of a cart, priced from the catalog when it was put. */
export interface CartLine {
  readonly productId: string;
  readonly name: string;
  readonly image: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
  /** When the product was first put in the cart (ISO 8601): keeps the lines in the order they were added. */
  readonly addedAt: string;
}

export interface CartView {
  readonly userId: string;
  readonly items: readonly {
    productId: string;
    name: string;
    image: string;
    unitPriceCents: number;
    quantity: number;
    lineTotalCents: number;
  }[];
  readonly totalCents: number;
  readonly currency: 'USD';
  readonly itemCount: number;
}

export function viewOf(userId: string, lines: readonly CartLine[]): CartView {
  const sorted = [...lines].sort(
    (a, b) => a.addedAt.localeCompare(b.addedAt) || a.productId.localeCompare(b.productId),
  );
  const items = sorted.map((l) => ({
    productId: l.productId,
    name: l.name,
    image: l.image,
    unitPriceCents: l.unitPriceCents,
    quantity: l.quantity,
    lineTotalCents: l.unitPriceCents * l.quantity,
  }));
  return {
    userId,
    items,
    totalCents: items.reduce((sum, i) => sum + i.lineTotalCents, 0),
    currency: 'USD',
    itemCount: items.reduce((sum, i) => sum + i.quantity, 0),
  };
}
