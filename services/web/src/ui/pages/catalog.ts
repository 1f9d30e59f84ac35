/// <reference lib="dom" />
import { api, type Category, type Product } from '../api.ts';
import { cartStore } from '../cart-store.ts';
import {
  describeError,
  emptyState,
  errorState,
  inlineError,
  pagination,
  picture,
  price,
  skeletonGrid,
  toast,
} from '../components.ts';
import { h, icon, mount } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { paths } from '../routes.ts';
import { session } from '../session.ts';

export const PAGE_SIZE = 12;
let categoriesCache: Category[] | undefined;

export async function categories(signal: AbortSignal): Promise<Category[]> {
  categoriesCache ??= (await api.categories(signal)).items;
  return categoriesCache;
}

export async function catalogPage(ctx: PageContext): Promise<void> {
  const q = ctx.query.get('q')?.trim() ?? '';
  const category = ctx.query.get('category') ?? '';
  const page = Math.max(1, Number.parseInt(ctx.query.get('page') ?? '1', 10) || 1);
  ctx.title(q ? `Search “${q}”` : 'Shop');

  const chips = h('div', { class: 'chips', role: 'navigation', 'aria-label': 'Categories' });
  const heading = h(
    'div',
    { class: 'results-head' },
    h('h1', null, q ? `Results for “${q}”` : 'All products'),
  );
  const body = h('div', { class: 'results' }, skeletonGrid());
  mount(
    ctx.view,
    h(
      'section',
      { class: 'hero' },
      h(
        'div',
        null,
        h('p', { class: 'eyebrow' }, 'MeshMart'),
        h('h2', null, 'Good things for kitchen, home and the outdoors'),
        h('p', null, 'Free returns for 30 days. Every order is tracked live from cart to doorstep.'),
      ),
    ),
    chips,
    heading,
    body,
  );

  const cats = categories(ctx.signal).then(
    (list) => {
      const total = list.reduce((n, c) => n + (c.count ?? 0), 0);
      mount(
        chips,
        h(
          'a',
          { class: `chip${category ? '' : ' active'}`, href: paths.catalog({ q }) },
          'All',
          total ? h('span', { class: 'chip-count' }, String(total)) : null,
        ),
        list.map((c) =>
          h(
            'a',
            {
              class: `chip${c.id === category ? ' active' : ''}`,
              href: paths.catalog({ q, category: c.id }),
              'data-category': c.id,
            },
            c.name,
            c.count !== undefined ? h('span', { class: 'chip-count' }, String(c.count)) : null,
          ),
        ),
      );
      const active = list.find((c) => c.id === category);
      if (active && !q) heading.querySelector('h1')!.textContent = active.name;
      return list;
    },
    (err: unknown) => {
      mount(chips, inlineError(err));
      return [] as Category[];
    },
  );

  try {
    const result = await api.products({ q, category, page, limit: PAGE_SIZE }, ctx.signal);
    const list = await cats;
    const names = new Map(list.map((c) => [c.id, c.name]));
    const from = result.total === 0 ? 0 : (result.page - 1) * result.limit + 1;
    const to = (result.page - 1) * result.limit + result.items.length;
    heading.appendChild(
      h(
        'p',
        { class: 'muted', 'data-testid': 'result-count' },
        result.total === 0 ? 'No products' : `Showing ${from}–${to} of ${result.total}`,
      ),
    );
    if (result.items.length === 0) {
      mount(
        body,
        emptyState(
          'Nothing matches',
          q
            ? `No product matches “${q}”${category ? ' in this category' : ''}. Try another word.`
            : 'This category is empty for now.',
          h('a', { class: 'btn', href: paths.catalog() }, 'See all products'),
        ),
      );
      return;
    }
    mount(
      body,
      h(
        'div',
        { class: 'grid' },
        result.items.map((p) => productCard(p, names.get(p.category) ?? p.category, ctx)),
      ),
      pagination(result.page, result.total, result.limit, (n) => paths.catalog({ q, category, page: n })),
    );
  } catch (err) {
    mount(body, errorState(err, h('a', { class: 'btn', href: paths.catalog() }, 'Try again')));
  }
}

function productCard(p: Product, categoryName: string, ctx: PageContext): HTMLElement {
  const button = h(
    'button',
    { class: 'btn btn-primary btn-sm', type: 'button', 'data-add': p.id },
    icon('cart', 16),
    'Add',
  );
  button.addEventListener('click', () => void addToCart(p, 1, button, ctx));
  return h(
    'article',
    { class: 'card product-card', 'data-product': p.id },
    h(
      'a',
      { class: 'card-link', href: paths.product(p.id), 'aria-label': p.name },
      picture(p, p.name, 'pic card-pic'),
    ),
    h(
      'div',
      { class: 'card-body' },
      h('p', { class: 'card-category' }, categoryName),
      h('h3', { class: 'card-title' }, h('a', { href: paths.product(p.id) }, p.name)),
      h('div', { class: 'card-foot' }, price(p.priceCents, p.currency), button),
    ),
  );
}

/** Adds to the cart, or sends an anonymous visitor to sign in first (and back here after). */
export async function addToCart(
  p: Product,
  quantity: number,
  button: HTMLButtonElement,
  ctx: PageContext,
): Promise<void> {
  if (!session.token()) {
    ctx.navigate(paths.login(location.pathname + location.search));
    return;
  }
  button.disabled = true;
  button.classList.add('busy');
  try {
    if (cartStore.get() === undefined) await cartStore.refresh();
    await cartStore.add(p.id, quantity);
    toast(`Added ${p.name} to your cart`);
  } catch (err) {
    const { title, detail } = describeError(err);
    toast(detail ? `${title}: ${detail}` : title, 'bad');
  } finally {
    button.disabled = false;
    button.classList.remove('busy');
  }
}
