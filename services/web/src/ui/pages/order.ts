/// <reference lib="dom" />
import { api, ApiError, type HistoryEntry, type Order } from '../api.ts';
import { cartStore } from '../cart-store.ts';
import { errorState, loading, picture, price, statusBadge } from '../components.ts';
import { h, icon, mount } from '../dom.ts';
import { eventLabel, formatDateTime, formatMoney, shortId } from '../format.ts';
import { isAbort, sleep, type PageContext } from '../page.ts';
import { paths } from '../routes.ts';
import { session } from '../session.ts';

const RECENT = 'meshmart.recentOrders';
/** How often a pending order is read again, and how long a just-placed order may take to appear in the read model. */
const POLL_MS = 800;
const APPEAR_MS = 30_000;

/** Orders placed in this tab: their saga id (for admins) and when, so a not-yet-projected order is waited for. */
export function rememberOrder(orderId: string, sagaId?: string): void {
  const recent = readRecent();
  recent[orderId] = { at: Date.now(), ...(sagaId ? { sagaId } : {}) };
  sessionStorage.setItem(RECENT, JSON.stringify(recent));
}

function readRecent(): Record<string, { at: number; sagaId?: string }> {
  try {
    return JSON.parse(sessionStorage.getItem(RECENT) ?? '{}') as Record<
      string,
      { at: number; sagaId?: string }
    >;
  } catch {
    return {};
  }
}

/** The checkout saga of an order: given by the gateway, remembered from checkout, or read off the reservation id. */
export function sagaIdOf(order: Order): string | undefined {
  if (order.sagaId) return order.sagaId;
  const remembered = readRecent()[order.id]?.sagaId;
  if (remembered) return remembered;
  return order.reservationId?.startsWith('res-') ? order.reservationId.slice(4) : undefined;
}

export async function orderPage(ctx: PageContext, id: string): Promise<void> {
  ctx.title(`Order ${shortId(id)}`);
  mount(ctx.view, loading('Loading your order…'));
  const placedAt = readRecent()[id]?.at;
  let shownPending = false;
  for (;;) {
    let order: Order | undefined;
    try {
      order = await api.order(id, ctx.signal);
    } catch (err) {
      if (isAbort(err)) return;
      const justPlaced = placedAt !== undefined && Date.now() - placedAt < APPEAR_MS;
      if (err instanceof ApiError && err.status === 404 && justPlaced) {
        if (!shownPending) mount(ctx.view, placing(id));
        shownPending = true;
        if (!(await wait(ctx))) return;
        continue;
      }
      mount(
        ctx.view,
        errorState(
          err,
          h('a', { class: 'btn btn-primary', href: paths.orders() }, 'Your orders'),
          err instanceof ApiError && err.status === 404 ? 'We could not find that order' : undefined,
        ),
      );
      return;
    }
    if (!order.history?.length) {
      const events = await api.orderEvents(id, ctx.signal).catch(() => undefined);
      if (events) {
        order = {
          ...order,
          history: events.items.map((e) => ({
            type: e.type,
            at: e.occurredAt ?? e.at ?? '',
            data: e.data ?? {},
          })),
        };
      }
    }
    render(ctx, order);
    if (order.status !== 'PENDING') {
      if (order.status === 'CONFIRMED') cartStore.refreshQuietly();
      return;
    }
    if (!(await wait(ctx))) return;
  }
}

async function wait(ctx: PageContext): Promise<boolean> {
  try {
    await sleep(POLL_MS, ctx.signal);
    return true;
  } catch {
    return false;
  }
}

function placing(id: string): HTMLElement {
  return h(
    'div',
    { class: 'state state-loading' },
    h('span', { class: 'spinner' }),
    h('h2', { class: 'state-title' }, 'Placing your order…'),
    h('p', { class: 'state-detail' }, `Order ${shortId(id)} was accepted; it appears here in a moment.`),
  );
}

const STEPS = ['OrderPlaced', 'OrderStockReserved', 'OrderPaymentAuthorized', 'OrderConfirmed'];

function render(ctx: PageContext, order: Order): void {
  const currency = order.currency ?? 'USD';
  const headline: Record<string, [string, string]> = {
    PENDING: [
      'Processing your order',
      'We are reserving your items and authorizing the payment. This page updates live.',
    ],
    CONFIRMED: [
      'Thank you! Your order is confirmed',
      'Your items are reserved and the payment was captured.',
    ],
    CANCELLED: [
      'This order was cancelled',
      'Nothing was charged, and the reserved items went back to stock.',
    ],
  };
  const [title, subtitle] = headline[order.status] ?? [order.status, ''];
  const sagaId = session.isAdmin() ? sagaIdOf(order) : undefined;
  mount(
    ctx.view,
    h(
      'nav',
      { class: 'breadcrumb' },
      h('a', { href: paths.orders() }, 'Your orders'),
      ' / ',
      h('span', null, `Order ${shortId(order.id)}`),
    ),
    h(
      'section',
      {
        class: `order-hero tone-${order.status.toLowerCase()}`,
        'data-testid': 'order-status',
        'data-status': order.status,
      },
      h(
        'div',
        { class: 'order-hero-icon' },
        order.status === 'PENDING'
          ? h('span', { class: 'spinner' })
          : icon(order.status === 'CONFIRMED' ? 'check' : 'x', 28),
      ),
      h(
        'div',
        null,
        h(
          'div',
          { class: 'order-hero-top' },
          h('h1', null, title),
          statusBadge(order.status),
          order.status === 'PENDING'
            ? h('span', { class: 'live' }, h('span', { class: 'live-dot' }), 'live')
            : null,
        ),
        h('p', null, subtitle),
        order.reason
          ? h(
              'p',
              { class: 'reason', 'data-testid': 'order-reason' },
              icon('alert', 16),
              h('span', null, 'Reason: ', h('strong', null, order.reason)),
            )
          : null,
      ),
    ),
    h(
      'div',
      { class: 'order-layout' },
      h(
        'section',
        { class: 'panel' },
        h('h2', null, 'Items'),
        h(
          'ul',
          { class: 'order-lines' },
          order.items.map((l) =>
            h(
              'li',
              null,
              picture({ productId: l.productId }, l.name, 'pic line-pic'),
              h('a', { href: paths.product(l.productId) }, l.name),
              h('span', { class: 'muted' }, `${l.quantity} × ${formatMoney(l.unitPriceCents, currency)}`),
              price(l.unitPriceCents * l.quantity, currency),
            ),
          ),
        ),
        h(
          'div',
          { class: 'summary-total' },
          h('span', null, 'Total'),
          h('strong', null, formatMoney(order.totalCents, currency)),
        ),
        h(
          'dl',
          { class: 'facts' },
          h('dt', null, 'Order'),
          h('dd', null, h('code', null, order.id)),
          order.createdAt ? [h('dt', null, 'Placed'), h('dd', null, formatDateTime(order.createdAt))] : null,
          order.paymentId
            ? [h('dt', null, 'Payment'), h('dd', null, h('code', null, order.paymentId))]
            : null,
        ),
        sagaId
          ? h(
              'a',
              { class: 'btn btn-ghost', href: paths.adminSaga(sagaId), 'data-testid': 'saga-link' },
              icon('link', 16),
              'Checkout saga (admin)',
            )
          : null,
      ),
      h('section', { class: 'panel' }, h('h2', null, 'History'), timeline(order)),
    ),
  );
}

function timeline(order: Order): HTMLElement {
  const history = [...(order.history ?? [])].sort(
    (a, b) => (a.version ?? 0) - (b.version ?? 0) || a.at.localeCompare(b.at),
  );
  const seen = new Set(history.map((e) => e.type));
  const upcoming = order.status === 'PENDING' ? STEPS.filter((s) => !seen.has(s)) : [];
  return h(
    'ol',
    { class: 'timeline', 'data-testid': 'timeline' },
    history.map((e) => timelineItem(e, order.currency ?? 'USD')),
    upcoming.map((type, i) =>
      h(
        'li',
        { class: `tl-item tl-upcoming${i === 0 ? ' tl-next' : ''}` },
        h('span', { class: 'tl-dot' }),
        h(
          'div',
          null,
          h('strong', null, eventLabel(type)),
          h('span', { class: 'muted' }, i === 0 ? 'in progress…' : 'waiting'),
        ),
      ),
    ),
  );
}

function timelineItem(e: HistoryEntry, currency: string): HTMLElement {
  const data = e.data ?? {};
  const tone = e.type === 'OrderCancelled' ? 'bad' : e.type === 'OrderConfirmed' ? 'ok' : 'done';
  const details: string[] = [];
  if (typeof data.reason === 'string') details.push(data.reason);
  if (typeof data.totalCents === 'number') details.push(`total ${formatMoney(data.totalCents, currency)}`);
  if (typeof data.reservationId === 'string') details.push(`reservation ${shortId(data.reservationId)}`);
  if (typeof data.paymentId === 'string') details.push(`payment ${shortId(data.paymentId)}`);
  return h(
    'li',
    { class: `tl-item tl-${tone}`, 'data-event': e.type },
    h('span', { class: 'tl-dot' }),
    h(
      'div',
      null,
      h('strong', null, eventLabel(e.type)),
      h('time', { class: 'muted', datetime: e.at }, formatDateTime(e.at)),
      details.length ? h('p', { class: 'tl-detail' }, details.join(' · ')) : null,
    ),
  );
}
