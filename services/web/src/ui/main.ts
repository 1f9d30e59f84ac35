/// <reference lib="dom" />
// The MeshMart single-page app: the shell (header, footer), history routing, and one page per route.
import './styles.css';
import { cartStore } from './cart-store.ts';
import { errorState } from './components.ts';
import { h, icon, mount } from './dom.ts';
import { ApiError } from './api.ts';
import { isAbort, type PageContext } from './page.ts';
import { matchRoute, paths, type Route } from './routes.ts';
import { session } from './session.ts';
import { auditPage, sagaPage, sagasPage } from './pages/admin.ts';
import { cartPage } from './pages/cart.ts';
import { catalogPage } from './pages/catalog.ts';
import { checkoutPage } from './pages/checkout.ts';
import { loginPage } from './pages/login.ts';
import { orderPage } from './pages/order.ts';
import { ordersPage } from './pages/orders.ts';
import { productPage } from './pages/product.ts';

const SIGNED_IN: ReadonlySet<Route['name']> = new Set(['cart', 'checkout', 'orders', 'order']);
const ADMIN: ReadonlySet<Route['name']> = new Set(['admin-audit', 'admin-sagas', 'admin-saga']);

const view = h('main', { id: 'view', class: 'container', tabindex: '-1' });
const searchInput = h('input', {
  type: 'search',
  name: 'q',
  placeholder: 'Search products',
  'aria-label': 'Search products',
  autocomplete: 'off',
});
const cartCount = h('span', { class: 'cart-count', 'data-testid': 'cart-count' }, '0');
const account = h('div', { class: 'account' });
const adminLink = h(
  'a',
  { class: 'nav-link', href: paths.adminAudit(), hidden: true },
  icon('shield', 18),
  h('span', { class: 'label' }, 'Admin'),
);
let current: AbortController | undefined;

function shell(): HTMLElement {
  const search = h('form', { class: 'search', role: 'search', action: '/' }, icon('search', 18), searchInput);
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    navigate(paths.catalog({ q: searchInput.value.trim() }));
  });
  return h(
    'div',
    { class: 'app' },
    h(
      'header',
      { class: 'topbar' },
      h(
        'div',
        { class: 'container topbar-inner' },
        h(
          'a',
          { class: 'brand', href: '/' },
          h('span', { class: 'brand-mark' }, 'M'),
          h('span', { class: 'brand-name' }, 'MeshMart'),
        ),
        search,
        h(
          'nav',
          { class: 'nav' },
          adminLink,
          h(
            'a',
            { class: 'nav-link', href: paths.orders() },
            icon('box', 18),
            h('span', { class: 'label' }, 'Orders'),
          ),
          account,
          h(
            'a',
            { class: 'nav-link cart-link', href: paths.cart(), 'aria-label': 'Cart' },
            icon('cart', 20),
            h('span', { class: 'label' }, 'Cart'),
            cartCount,
          ),
        ),
      ),
    ),
    view,
    h(
      'footer',
      { class: 'footer' },
      h(
        'div',
        { class: 'container footer-inner' },
        h('span', null, '© MeshMart — a reference store of Kubernetes-native microservices'),
        h('a', { href: '/docs' }, 'API documentation'),
      ),
    ),
  );
}

function renderAccount(): void {
  const user = session.user();
  adminLink.hidden = !session.isAdmin();
  if (!user) {
    mount(
      account,
      h(
        'a',
        { class: 'nav-link', href: paths.login(location.pathname + location.search) },
        icon('user', 18),
        h('span', { class: 'label' }, 'Sign in'),
      ),
    );
    return;
  }
  const out = h('button', { class: 'link-btn', type: 'button' }, 'Sign out');
  out.addEventListener('click', () => {
    session.signOut();
    cartStore.clear();
    navigate('/');
  });
  mount(
    account,
    h('span', { class: 'user-chip', 'data-testid': 'user' }, icon('user', 16), user.username),
    out,
  );
}

function renderCount(): void {
  const n = cartStore.count();
  cartCount.textContent = String(n);
  cartCount.classList.toggle('empty', n === 0);
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

async function render(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const route = matchRoute(location.pathname);
  const query = new URLSearchParams(location.search);
  if (route.name === 'catalog') searchInput.value = query.get('q') ?? '';
  renderAccount();
  const ctx: PageContext = {
    route,
    query,
    view,
    signal: controller.signal,
    navigate,
    title: (text) => {
      document.title = `${text} · MeshMart`;
    },
  };
  view.dataset.page = route.name;
  view.setAttribute('aria-busy', 'true');
  try {
    if ((SIGNED_IN.has(route.name) || ADMIN.has(route.name)) && !session.token()) {
      navigate(paths.login(location.pathname + location.search), { replace: true });
      return;
    }
    if (ADMIN.has(route.name) && !session.isAdmin()) {
      ctx.title('Not allowed');
      mount(
        view,
        errorState(
          new ApiError(403, 'Forbidden', 'This page is for administrators.'),
          null,
          'Administrators only',
        ),
      );
      return;
    }
    await page(ctx, route);
  } catch (err) {
    if (!isAbort(err) && current === controller) mount(view, errorState(err));
  } finally {
    if (current === controller) view.removeAttribute('aria-busy');
  }
}

async function page(ctx: PageContext, route: Route): Promise<void> {
  switch (route.name) {
    case 'catalog':
      return catalogPage(ctx);
    case 'product':
      return productPage(ctx, route.id);
    case 'cart':
      return cartPage(ctx);
    case 'checkout':
      return checkoutPage(ctx);
    case 'orders':
      return ordersPage(ctx);
    case 'order':
      return orderPage(ctx, route.id);
    case 'login':
      return loginPage(ctx);
    case 'admin-audit':
      return auditPage(ctx);
    case 'admin-sagas':
      return sagasPage(ctx);
    case 'admin-saga':
      return sagaPage(ctx, route.id);
    case 'not-found':
      ctx.title('Page not found');
      mount(
        view,
        errorState(
          new ApiError(404, 'Not Found', `There is no page at ${route.path}.`),
          null,
          'This page does not exist',
        ),
      );
      return;
  }
}

/** Same-origin links to app pages are routed here; /api, /docs and downloads go to the server. */
function onClick(event: MouseEvent): void {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const a = (event.target as Element | null)?.closest('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || /^\/(api|docs|openapi\.json)(\/|$)/.test(url.pathname)) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
  window.scrollTo(0, 0);
}

const root = document.getElementById('app') ?? document.body;
mount(root, shell());
session.onChange(() => {
  renderAccount();
  renderCount();
});
cartStore.onChange(renderCount);
document.addEventListener('click', onClick);
window.addEventListener('popstate', () => void render());
renderCount();
cartStore.refreshQuietly();
void render();
