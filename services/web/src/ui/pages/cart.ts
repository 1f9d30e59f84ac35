/// <reference lib="dom" />
import type { Cart, CartLine } from '../api.ts';
import { cartStore, MAX_QUANTITY } from '../cart-store.ts';
import { emptyState, errorState, inlineError, loading, pageHeader, picture, price } from '../components.ts';
import { h, icon, mount } from '../dom.ts';
import { formatMoney, plural } from '../format.ts';
import type { PageContext } from '../page.ts';
import { paths } from '../routes.ts';

export async function cartPage(ctx: PageContext): Promise<void> {
  ctx.title('Your cart');
  mount(ctx.view, pageHeader('Your cart'), loading('Loading your cart…'));
  let cart: Cart | undefined;
  try {
    cart = await cartStore.refresh(ctx.signal);
  } catch (err) {
    mount(
      ctx.view,
      pageHeader('Your cart'),
      errorState(err, h('a', { class: 'btn', href: paths.cart() }, 'Try again')),
    );
    return;
  }
  render(ctx, cart);
}

function render(ctx: PageContext, cart: Cart | undefined): void {
  if (!cart || cart.items.length === 0) {
    mount(
      ctx.view,
      pageHeader('Your cart'),
      emptyState(
        'Your cart is empty',
        'Find something you like and add it here.',
        h('a', { class: 'btn btn-primary', href: paths.catalog() }, 'Start shopping'),
      ),
    );
    return;
  }
  const problems = h('div', { class: 'form-errors' });
  const lines = h(
    'ul',
    { class: 'cart-lines' },
    cart.items.map((line) => cartLine(ctx, line, problems)),
  );
  mount(
    ctx.view,
    pageHeader('Your cart', h('span', { class: 'muted' }, plural(cart.itemCount, 'item'))),
    priceNotice(cart),
    problems,
    h(
      'div',
      { class: 'cart-layout' },
      h('section', { class: 'panel' }, lines),
      summary(
        cart,
        h(
          'a',
          { class: 'btn btn-primary btn-block btn-lg', href: paths.checkout(), 'data-testid': 'go-checkout' },
          'Checkout',
          icon('card', 18),
        ),
      ),
    ),
  );
}

function cartLine(ctx: PageContext, line: CartLine, problems: HTMLElement): HTMLElement {
  const change = async (action: () => Promise<unknown>, el: HTMLElement): Promise<void> => {
    el.classList.add('busy');
    problems.replaceChildren();
    try {
      await action();
      render(ctx, cartStore.get());
    } catch (err) {
      el.classList.remove('busy');
      problems.replaceChildren(inlineError(err));
    }
  };
  const row: HTMLElement = h(
    'li',
    { class: 'cart-line', 'data-product': line.productId },
    h('a', { href: paths.product(line.productId) }, picture(line, line.name, 'pic line-pic')),
    h(
      'div',
      { class: 'line-info' },
      h('a', { class: 'line-name', href: paths.product(line.productId) }, line.name),
      h('span', { class: 'muted' }, `${formatMoney(line.unitPriceCents)} each`),
      lineChange(line),
    ),
    h(
      'div',
      { class: 'qty', role: 'group', 'aria-label': `Quantity of ${line.name}` },
      h(
        'button',
        {
          class: 'qty-btn',
          type: 'button',
          'aria-label': 'One less',
          disabled: line.quantity <= 1,
          onclick: () => void change(() => cartStore.setQuantity(line.productId, line.quantity - 1), row),
        },
        '−',
      ),
      h('output', { class: 'qty-value', 'data-testid': 'quantity' }, String(line.quantity)),
      h(
        'button',
        {
          class: 'qty-btn',
          type: 'button',
          'aria-label': 'One more',
          disabled: line.quantity >= MAX_QUANTITY,
          onclick: () => void change(() => cartStore.setQuantity(line.productId, line.quantity + 1), row),
        },
        '+',
      ),
    ),
    h('div', { class: 'line-total' }, price(line.lineTotalCents)),
    h(
      'button',
      {
        class: 'icon-btn',
        type: 'button',
        'aria-label': `Remove ${line.name}`,
        title: 'Remove',
        'data-remove': line.productId,
        onclick: () => void change(() => cartStore.remove(line.productId), row),
      },
      icon('trash', 18),
    ),
  );
  return row;
}

/** What changed about a line since it was put: a new price, or the product gone from the catalog. */
function lineChange(line: CartLine): HTMLElement | null {
  if (line.unavailable)
    return h(
      'span',
      { class: 'line-change', 'data-testid': 'unavailable' },
      'No longer available — remove it',
    );
  if (line.priceWhenAddedCents === undefined) return null;
  const up = line.unitPriceCents > line.priceWhenAddedCents;
  return h(
    'span',
    { class: `line-change ${up ? 'line-change-up' : 'line-change-down'}`, 'data-testid': 'price-change' },
    `Price ${up ? 'up' : 'down'} from ${formatMoney(line.priceWhenAddedCents)} when you added it`,
  );
}

/** Said once above the lines: the cart is charged at today's prices, not those of the day a line was put. */
export function priceNotice(cart: Cart, extra?: string): HTMLElement | null {
  const changed = cart.items.filter((l) => l.priceWhenAddedCents !== undefined).length;
  if (changed === 0 && !extra) return null;
  return h(
    'div',
    { class: 'alert alert-info', role: 'status', 'data-testid': 'price-notice' },
    icon('alert', 18),
    h(
      'div',
      null,
      extra ? h('strong', null, extra) : null,
      changed > 0
        ? h(
            'div',
            null,
            `${plural(changed, 'price')} changed since you added ${changed === 1 ? 'it' : 'them'}: ` +
              'the order is charged at the prices shown here.',
          )
        : null,
    ),
  );
}

export function summary(cart: Cart, action: HTMLElement | null): HTMLElement {
  return h(
    'aside',
    { class: 'panel summary' },
    h('h2', null, 'Order summary'),
    h(
      'dl',
      null,
      h('dt', null, `Subtotal (${plural(cart.itemCount, 'item')})`),
      h('dd', null, formatMoney(cart.totalCents, cart.currency)),
      h('dt', null, 'Shipping'),
      h('dd', null, 'Free'),
    ),
    h(
      'div',
      { class: 'summary-total' },
      h('span', null, 'Total'),
      h('strong', { 'data-testid': 'cart-total' }, formatMoney(cart.totalCents, cart.currency)),
    ),
    action,
  );
}
