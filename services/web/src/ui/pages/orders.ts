/// <reference lib="dom" />
import { api } from '../api.ts';
import { emptyState, errorState, loading, pageHeader, statusBadge } from '../components.ts';
import { h, mount } from '../dom.ts';
import { formatDateTime, formatMoney, plural, shortId } from '../format.ts';
import type { PageContext } from '../page.ts';
import { paths } from '../routes.ts';

export async function ordersPage(ctx: PageContext): Promise<void> {
  ctx.title('Your orders');
  mount(ctx.view, pageHeader('Your orders'), loading('Loading your orders…'));
  try {
    const { items } = await api.orders(ctx.signal);
    if (items.length === 0) {
      mount(
        ctx.view,
        pageHeader('Your orders'),
        emptyState(
          'No orders yet',
          'When you buy something it shows up here, with its live status.',
          h('a', { class: 'btn btn-primary', href: paths.catalog() }, 'Start shopping'),
        ),
      );
      return;
    }
    const sorted = [...items].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    mount(
      ctx.view,
      pageHeader('Your orders', h('span', { class: 'muted' }, plural(items.length, 'order'))),
      h(
        'div',
        { class: 'panel table-wrap' },
        h(
          'table',
          { class: 'table', 'data-testid': 'orders' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', null, 'Order'),
              h('th', null, 'Placed'),
              h('th', null, 'Items'),
              h('th', { class: 'num' }, 'Total'),
              h('th', null, 'Status'),
            ),
          ),
          h(
            'tbody',
            null,
            sorted.map((o) =>
              h(
                'tr',
                { 'data-order': o.id },
                h('td', null, h('a', { href: paths.order(o.id) }, h('code', null, shortId(o.id)))),
                h('td', null, o.createdAt ? formatDateTime(o.createdAt) : '—'),
                h('td', null, o.items.map((l) => `${l.quantity} × ${l.name}`).join(', ')),
                h('td', { class: 'num' }, formatMoney(o.totalCents, o.currency ?? 'USD')),
                h('td', null, statusBadge(o.status)),
              ),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    mount(ctx.view, pageHeader('Your orders'), errorState(err));
  }
}
