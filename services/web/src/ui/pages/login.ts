/// <reference lib="dom" />
import { api } from '../api.ts';
import { cartStore } from '../cart-store.ts';
import { inlineError } from '../components.ts';
import { h, icon, mount } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { safeNext } from '../routes.ts';
import { session } from '../session.ts';

/** The demo accounts of the local gateway (docs/gateway.md). */
export const DEMO_USERS = [
  { username: 'alice', role: 'customer' },
  { username: 'bob', role: 'customer' },
  { username: 'admin', role: 'admin' },
] as const;

export function loginPage(ctx: PageContext): void {
  ctx.title('Sign in');
  const next = safeNext(ctx.query.get('next'));
  const expired = session.takeExpiredNotice();
  const errors = h(
    'div',
    { class: 'form-errors' },
    expired
      ? h(
          'div',
          { class: 'alert alert-info' },
          icon('clock', 18),
          'Your session ended. Please sign in again.',
        )
      : null,
  );
  const username = h('input', {
    id: 'username',
    name: 'username',
    autocomplete: 'username',
    required: true,
    autofocus: true,
  });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { class: 'btn btn-primary btn-block btn-lg', type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'panel login-form', novalidate: true },
    h('div', { class: 'login-icon' }, icon('user', 28)),
    h('h1', null, 'Sign in to MeshMart'),
    h('p', { class: 'muted' }, 'Sign in to fill your cart, check out and follow your orders.'),
    errors,
    h('label', { for: 'username' }, 'Username'),
    username,
    h('label', { for: 'password' }, 'Password'),
    password,
    submit,
    h(
      'div',
      { class: 'demo-users' },
      h('p', { class: 'muted small' }, 'Demo accounts (password = username):'),
      DEMO_USERS.map((u) =>
        h(
          'button',
          {
            class: 'chip',
            type: 'button',
            'data-demo': u.username,
            onclick: () => {
              username.value = u.username;
              password.value = u.username;
              password.focus();
            },
          },
          u.username,
          h('span', { class: 'chip-count' }, u.role),
        ),
      ),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      errors.replaceChildren(
        h(
          'div',
          { class: 'alert alert-error', role: 'alert' },
          icon('alert', 18),
          'Enter your username and password.',
        ),
      );
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    errors.replaceChildren();
    api.token(username.value.trim(), password.value).then(
      (token) => {
        session.signIn(token.access_token);
        cartStore.refreshQuietly();
        ctx.navigate(next, { replace: true });
      },
      (err: unknown) => {
        submit.disabled = false;
        submit.textContent = 'Sign in';
        errors.replaceChildren(inlineError(err));
      },
    );
  });
  mount(ctx.view, h('div', { class: 'login-wrap' }, form));
}
