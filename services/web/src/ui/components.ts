/// <reference lib="dom" />
// Pieces every page uses: loading and error states, status badges, prices, pictures, pagination, toasts.
import { ApiError, productImageUrl } from './api.ts';
import { h, icon, type Child } from './dom.ts';
import { formatMoney, pageWindow, statusTone } from './format.ts';
import { withQuery } from './routes.ts';

export function loading(label = 'Loading…'): HTMLElement {
  return h(
    'div',
    { class: 'state state-loading', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'spinner' }),
    label,
  );
}

/** Grid placeholders while products load, so the layout does not jump. */
export function skeletonGrid(count = 8): HTMLElement {
  return h(
    'div',
    { class: 'grid', 'aria-busy': 'true', 'aria-label': 'Loading products' },
    Array.from({ length: count }, () =>
      h(
        'div',
        { class: 'card skeleton' },
        h('div', { class: 'sk-img' }),
        h('div', { class: 'sk-line' }),
        h('div', { class: 'sk-line short' }),
      ),
    ),
  );
}

/** A failed call shown as a page state: the problem's title and detail (under `heading` when given), a way on. */
export function errorState(err: unknown, actions: Child = null, heading?: string): HTMLElement {
  const { title, detail, status } = describeError(err);
  // An expired or refused token: the way on is signing in again, back to this page.
  if (status === 401) {
    actions = h(
      'a',
      { class: 'btn btn-primary', href: withQuery('/login', { next: location.pathname + location.search }) },
      'Sign in again',
    );
  }
  return h(
    'div',
    { class: 'state state-error', role: 'alert', 'data-status': status },
    h('div', { class: 'state-icon' }, icon('alert', 28)),
    h('h2', { class: 'state-title' }, heading ?? title),
    heading
      ? h(
          'p',
          { class: 'state-detail' },
          h('strong', { class: 'problem-title' }, title),
          detail ? ` — ${detail}` : null,
        )
      : detail
        ? h('p', { class: 'state-detail' }, detail)
        : null,
    h('div', { class: 'state-actions' }, actions ?? h('a', { class: 'btn', href: '/' }, 'Back to the shop')),
  );
}

export function describeError(err: unknown): { title: string; detail: string; status: number } {
  if (err instanceof ApiError) return { title: err.title, detail: err.detail, status: err.status };
  return {
    title: 'Something went wrong',
    detail: err instanceof Error ? err.message : String(err),
    status: 0,
  };
}

/** An inline error inside a form or panel (not the whole page). */
export function inlineError(err: unknown): HTMLElement {
  const { title, detail } = describeError(err);
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    icon('alert', 18),
    h('div', null, h('strong', null, title), detail ? h('div', null, detail) : null),
  );
}

export function emptyState(title: string, detail: string, action: Child = null): HTMLElement {
  return h(
    'div',
    { class: 'state state-empty' },
    h('div', { class: 'state-icon' }, icon('box', 28)),
    h('h2', { class: 'state-title' }, title),
    h('p', { class: 'state-detail' }, detail),
    action ? h('div', { class: 'state-actions' }, action) : null,
  );
}

export function statusBadge(status: string): HTMLElement {
  return h(
    'span',
    { class: `badge badge-${statusTone(status)}`, 'data-status': status },
    status.toLowerCase(),
  );
}

export function price(cents: number, currency = 'USD'): HTMLElement {
  return h('span', { class: 'price' }, formatMoney(cents, currency));
}

export function picture(p: Parameters<typeof productImageUrl>[0], alt: string, cls = 'pic'): HTMLElement {
  const img = h('img', {
    src: productImageUrl(p),
    alt,
    loading: 'lazy',
    decoding: 'async',
    width: 480,
    height: 360,
  });
  img.addEventListener('error', () => img.parentElement?.classList.add('pic-missing'), { once: true });
  return h('div', { class: cls }, img);
}

/** Page links; `href(page)` builds each link. */
export function pagination(
  page: number,
  total: number,
  limit: number,
  href: (page: number) => string,
): HTMLElement | null {
  const pages = Math.max(1, Math.ceil(total / limit));
  if (pages <= 1) return null;
  return h(
    'nav',
    { class: 'pagination', 'aria-label': 'Pages' },
    page > 1
      ? h('a', { class: 'page-link', href: href(page - 1), rel: 'prev' }, '‹ Previous')
      : h('span', { class: 'page-link disabled' }, '‹ Previous'),
    pageWindow(page, pages).map((p) =>
      p === '…'
        ? h('span', { class: 'page-gap' }, '…')
        : h(
            'a',
            {
              class: `page-link${p === page ? ' current' : ''}`,
              href: href(p),
              'aria-current': p === page ? 'page' : undefined,
            },
            String(p),
          ),
    ),
    page < pages
      ? h('a', { class: 'page-link', href: href(page + 1), rel: 'next' }, 'Next ›')
      : h('span', { class: 'page-link disabled' }, 'Next ›'),
  );
}

let toastHost: HTMLElement | undefined;

export function toast(message: string, tone: 'ok' | 'bad' = 'ok'): void {
  if (!toastHost) {
    toastHost = h('div', { class: 'toasts', 'aria-live': 'polite' });
    document.body.appendChild(toastHost);
  }
  const el = h(
    'div',
    { class: `toast toast-${tone}`, role: 'status' },
    icon(tone === 'ok' ? 'check' : 'alert', 18),
    message,
  );
  toastHost.appendChild(el);
  setTimeout(() => el.classList.add('leaving'), 2600);
  setTimeout(() => el.remove(), 3000);
}

export function pageHeader(title: string, ...extra: Child[]): HTMLElement {
  return h('div', { class: 'page-header' }, h('h1', null, title), extra);
}
