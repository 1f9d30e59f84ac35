// Pure formatting helpers: no DOM, so they are unit-tested in Node.

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** Integer cents as a price: 8999 -> "$89.99". */
export function formatMoney(cents: number, currency = 'USD'): string {
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    moneyFormats.set(currency, format);
  }
  return format.format(cents / 100);
}

/** An ISO instant as a short local date and time: "Nov 27, 2026, 08:01:02". */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('en-US', {
    month: 'short',
    day: 'numeric',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
}

/** "OrderPaymentAuthorized" -> "Payment authorized"; a leading "Order" is implied on an order's timeline. */
export function eventLabel(type: string): string {
  const known: Record<string, string> = {
    OrderPlaced: 'Order placed',
    OrderStockReserved: 'Stock reserved',
    OrderPaymentAuthorized: 'Payment authorized',
    OrderConfirmed: 'Order confirmed',
    OrderCancelled: 'Order cancelled',
  };
  if (known[type]) return known[type];
  const words = type
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_.-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "3 items" / "1 item". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A short id for display: the first 8 characters of a UUID. */
export function shortId(id: string): string {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(id) ? id.slice(0, 8) : id;
}

export type StatusTone = 'ok' | 'bad' | 'wait' | 'neutral';

/** The colour family of an order or saga status. */
export function statusTone(status: string): StatusTone {
  switch (status) {
    case 'CONFIRMED':
    case 'COMPLETED':
    case 'DONE':
    case 'SUCCEEDED':
      return 'ok';
    case 'CANCELLED':
    case 'COMPENSATED':
    case 'FAILED':
      return 'bad';
    case 'PENDING':
    case 'RUNNING':
    case 'COMPENSATING':
      return 'wait';
    default:
      return 'neutral';
  }
}

/** Pages shown around the current one: [1, '…', 4, 5, 6, '…', 12]. */
export function pageWindow(page: number, pages: number, radius = 1): (number | '…')[] {
  if (pages <= 1) return [1];
  const out: (number | '…')[] = [];
  const from = Math.max(2, page - radius);
  const to = Math.min(pages - 1, page + radius);
  out.push(1);
  // A gap that would hide a single page shows that page instead.
  if (from === 3) out.push(2);
  else if (from > 3) out.push('…');
  for (let p = from; p <= to; p++) out.push(p);
  if (to === pages - 2) out.push(pages - 1);
  else if (to < pages - 2) out.push('…');
  out.push(pages);
  return out;
}
