/// <reference lib="dom" />
import { api, ApiError, uuid, type Cart } from '../api.ts';
import { cartStore } from '../cart-store.ts';
import { emptyState, errorState, inlineError, loading, pageHeader } from '../components.ts';
import { h, icon, mount } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { paths } from '../routes.ts';
import { priceNotice, summary } from './cart.ts';
import { rememberOrder } from './order.ts';

/** The simulated provider's test cards (payments service): deterministic, for demos and tests. */
export const CARDS = [
  { token: 'tok_visa', label: 'Visa — succeeds', detail: 'Visa ending in 4242', brand: 'VISA' },
  { token: 'tok_decline', label: 'Declined card', detail: 'Always declined by the bank', brand: 'CARD' },
] as const;

/** `notice`: why the page was shown again (the total changed while the user was on it). */
export async function checkoutPage(ctx: PageContext, notice?: string): Promise<void> {
  ctx.title('Checkout');
  mount(ctx.view, pageHeader('Checkout'), loading('Loading your cart…'));
  let cart: Cart | undefined;
  try {
    cart = await cartStore.refresh(ctx.signal);
  } catch (err) {
    mount(
      ctx.view,
      pageHeader('Checkout'),
      errorState(err, h('a', { class: 'btn', href: paths.checkout() }, 'Try again')),
    );
    return;
  }
  if (!cart || cart.items.length === 0) {
    mount(
      ctx.view,
      pageHeader('Checkout'),
      emptyState(
        'Nothing to check out',
        'Your cart is empty.',
        h('a', { class: 'btn btn-primary', href: paths.catalog() }, 'Start shopping'),
      ),
    );
    return;
  }

  const shown = cart;
  // One Idempotency-Key per attempt with one card: a retry after a lost answer reuses it, another card gets a new one.
  let attempt: { token: string; key: string } | undefined;
  const errors = h('div', { class: 'form-errors' });
  const place = h(
    'button',
    { class: 'btn btn-primary btn-block btn-lg', type: 'submit', 'data-testid': 'place-order' },
    'Place order',
  );
  const form = h(
    'form',
    { class: 'panel checkout-form', novalidate: true },
    h('h2', null, 'Payment method'),
    h(
      'fieldset',
      { class: 'cards' },
      h('legend', { class: 'sr-only' }, 'Card'),
      CARDS.map((c, i) =>
        h(
          'label',
          { class: 'pay-card', 'data-token': c.token },
          h('input', { type: 'radio', name: 'card', value: c.token, checked: i === 0 }),
          h('span', { class: `card-brand brand-${c.token}` }, c.brand),
          h(
            'span',
            { class: 'pay-card-text' },
            h('strong', null, c.label),
            h('span', { class: 'muted' }, c.detail),
          ),
        ),
      ),
    ),
    h(
      'p',
      { class: 'muted small' },
      icon('shield', 14),
      ' Test cards of the simulated payment provider: no real money moves.',
    ),
    errors,
    place,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = form.querySelector<HTMLInputElement>('input[name=card]:checked')?.value ?? 'tok_visa';
    if (!attempt || attempt.token !== token) attempt = { token, key: uuid() };
    const { key } = attempt;
    place.disabled = true;
    place.textContent = 'Placing order…';
    errors.replaceChildren();
    api.checkout(token, key, shown.totalCents).then(
      (accepted) => {
        rememberOrder(accepted.orderId, accepted.sagaId);
        ctx.navigate(paths.order(accepted.orderId));
      },
      (err: unknown) => {
        // The total moved since it was shown: nothing was bought; show the new prices and let the user decide.
        if (err instanceof ApiError && err.problemType === '/problems/price-changed') {
          void checkoutPage(ctx, `Prices changed while you were here — ${err.detail}. Check the new total.`);
          return;
        }
        place.disabled = false;
        place.textContent = 'Place order';
        errors.replaceChildren(inlineError(err));
      },
    );
  });
  mount(
    ctx.view,
    pageHeader('Checkout'),
    priceNotice(shown, notice),
    h(
      'div',
      { class: 'cart-layout' },
      form,
      summary(
        cart,
        h('a', { class: 'btn btn-ghost btn-block', href: paths.cart() }, icon('arrowLeft', 16), 'Edit cart'),
      ),
    ),
  );
}
