/// <reference lib="dom" />
import { api, ApiError } from '../api.ts';
import { MAX_QUANTITY } from '../cart-store.ts';
import { errorState, loading, picture, price } from '../components.ts';
import { h, icon, mount } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { paths } from '../routes.ts';
import { addToCart, categories } from './catalog.ts';

export async function productPage(ctx: PageContext, id: string): Promise<void> {
  ctx.title('Product');
  mount(ctx.view, loading('Loading the product…'));
  try {
    const [p, cats] = await Promise.all([
      api.product(id, ctx.signal),
      categories(ctx.signal).catch(() => []),
    ]);
    const categoryName = cats.find((c) => c.id === p.category)?.name ?? p.category;
    ctx.title(p.name);
    let quantity = 1;
    const qty = h('output', { class: 'qty-value', 'aria-live': 'polite' }, '1');
    const step = (d: number) => () => {
      quantity = Math.min(MAX_QUANTITY, Math.max(1, quantity + d));
      qty.textContent = String(quantity);
    };
    const add = h(
      'button',
      { class: 'btn btn-primary btn-lg', type: 'button', 'data-testid': 'add-to-cart' },
      icon('cart', 18),
      'Add to cart',
    );
    add.addEventListener('click', () => void addToCart(p, quantity, add, ctx));
    mount(
      ctx.view,
      h(
        'nav',
        { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
        h('a', { href: paths.catalog() }, 'Shop'),
        ' / ',
        h('a', { href: paths.catalog({ category: p.category }) }, categoryName),
        ' / ',
        h('span', null, p.name),
      ),
      h(
        'article',
        { class: 'product-detail', 'data-product': p.id },
        picture(p, p.name, 'pic detail-pic'),
        h(
          'div',
          { class: 'detail-info' },
          h('p', { class: 'card-category' }, categoryName),
          h('h1', null, p.name),
          h('div', { class: 'detail-price' }, price(p.priceCents, p.currency)),
          h('p', { class: 'detail-description' }, p.description),
          h(
            'div',
            { class: 'buy-row' },
            h(
              'div',
              { class: 'qty', role: 'group', 'aria-label': 'Quantity' },
              h(
                'button',
                { class: 'qty-btn', type: 'button', 'aria-label': 'One less', onclick: step(-1) },
                '−',
              ),
              qty,
              h(
                'button',
                { class: 'qty-btn', type: 'button', 'aria-label': 'One more', onclick: step(1) },
                '+',
              ),
            ),
            add,
          ),
          h(
            'ul',
            { class: 'perks' },
            h('li', null, icon('check', 16), 'In stock, ships in 1–2 days'),
            h('li', null, icon('check', 16), 'Free returns within 30 days'),
            h('li', null, icon('shield', 16), 'Secure checkout'),
          ),
        ),
      ),
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      ctx.title('Product not found');
      mount(
        ctx.view,
        errorState(
          err,
          h('a', { class: 'btn btn-primary', href: paths.catalog() }, 'Browse all products'),
          'We could not find that product',
        ),
      );
      return;
    }
    mount(ctx.view, errorState(err));
  }
}
