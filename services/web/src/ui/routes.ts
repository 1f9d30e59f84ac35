// The app's routes (history API paths) as pure functions: match a path, build a path. No DOM.

export type Route =
  | { readonly name: 'catalog' }
  | { readonly name: 'product'; readonly id: string }
  | { readonly name: 'cart' }
  | { readonly name: 'checkout' }
  | { readonly name: 'orders' }
  | { readonly name: 'order'; readonly id: string }
  | { readonly name: 'login' }
  | { readonly name: 'admin-audit' }
  | { readonly name: 'admin-sagas' }
  | { readonly name: 'admin-saga'; readonly id: string }
  | { readonly name: 'not-found'; readonly path: string };

const patterns: readonly [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^\/$/, () => ({ name: 'catalog' })],
  [/^\/products\/([^/]+)$/, (m) => ({ name: 'product', id: decode(m[1]) })],
  [/^\/cart$/, () => ({ name: 'cart' })],
  [/^\/checkout$/, () => ({ name: 'checkout' })],
  [/^\/orders$/, () => ({ name: 'orders' })],
  [/^\/orders\/([^/]+)$/, (m) => ({ name: 'order', id: decode(m[1]) })],
  [/^\/login$/, () => ({ name: 'login' })],
  [/^\/admin\/?$/, () => ({ name: 'admin-audit' })],
  [/^\/admin\/audit$/, () => ({ name: 'admin-audit' })],
  [/^\/admin\/sagas$/, () => ({ name: 'admin-sagas' })],
  [/^\/admin\/sagas\/([^/]+)$/, (m) => ({ name: 'admin-saga', id: decode(m[1]) })],
];

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The route of a location path (trailing slashes ignored, except the root). */
export function matchRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  for (const [pattern, make] of patterns) {
    const m = pattern.exec(path);
    if (m) return make(m);
  }
  return { name: 'not-found', path: pathname };
}

/** A path with a query string; empty and undefined values are left out, so URLs stay short. */
export function withQuery(
  path: string,
  query: Readonly<Record<string, string | number | undefined>> = {},
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export const paths = {
  catalog: (query: { q?: string; category?: string; page?: number } = {}) =>
    withQuery('/', { q: query.q, category: query.category, page: query.page === 1 ? undefined : query.page }),
  product: (id: string) => `/products/${encodeURIComponent(id)}`,
  cart: () => '/cart',
  checkout: () => '/checkout',
  orders: () => '/orders',
  order: (id: string) => `/orders/${encodeURIComponent(id)}`,
  login: (next?: string) => withQuery('/login', { next: next && next !== '/login' ? next : undefined }),
  /** `before` / `after`: a seq cursor (the audit trail grows while it is read, so it is never paged by number). */
  adminAudit: (query: { actor?: string; resource?: string; before?: number; after?: number } = {}) =>
    withQuery('/admin/audit', {
      actor: query.actor,
      resource: query.resource,
      before: query.before,
      after: query.after,
    }),
  adminSagas: () => '/admin/sagas',
  adminSaga: (id: string) => `/admin/sagas/${encodeURIComponent(id)}`,
};

/** Only same-origin app paths are followed after login (no open redirect through ?next=). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/api/')) return '/';
  return next;
}
