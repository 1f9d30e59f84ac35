import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pngInfo, screenshot, startUiSystem, type UiSystem } from './support/browser-system.ts';

// The web UI in headless Chromium against the whole real system (every service, the gateway serving the UI).
describe('web UI in a browser against the whole system', function () {
  this.timeout(120000);
  let ui: UiSystem;
  const shots = new Map<string, string>();
  let confirmedOrderId = '';

  before(async () => {
    ui = await startUiSystem();
  });
  after(async () => {
    await ui?.close();
  });

  const shoot = async (page: Page, name: string) => {
    shots.set(name, await screenshot(page, name));
  };

  const signIn = async (page: Page, username: string) => {
    await page.goto('/login');
    await page.fill('#username', username);
    await page.fill('#password', username);
    await page.click('form.login-form button[type=submit]');
    await page.waitForSelector(`[data-testid=user]:has-text("${username}")`);
  };

  const orderStatus = async (page: Page, status: 'CONFIRMED' | 'CANCELLED') => {
    await page.waitForURL(/\/orders\/[^/]+$/);
    await page.waitForSelector(`[data-testid=order-status][data-status=${status}]`, { timeout: 30000 });
    return new URL(page.url()).pathname.split('/').pop()!;
  };

  it('when alice signs in, searches, adds to the cart and pays with tok_visa, then the order page shows CONFIRMED and its timeline', async () => {
    const page = await ui.newPage();
    await page.goto('/');
    await page.waitForSelector('.product-card img');
    await page.waitForSelector('.chip[data-category]');
    expect(await page.locator('.product-card').count()).to.equal(12);
    // Every picture on the page loaded through the gateway (naturalWidth 0 = broken image).
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('.product-card img')).every(
        (i) => (i as HTMLImageElement).complete,
      ),
    );
    const broken = await page.$$eval(
      '.product-card img',
      (imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth === 0).length,
    );
    expect(broken, ui.serverErrors.join('\n')).to.equal(0);
    await shoot(page, 'catalog');

    const firstOnPage1 = await page.getAttribute('.product-card', 'data-product');
    await page.click('a.page-link[rel=next]');
    await page.waitForURL(/\?page=2$/);
    await page.waitForSelector('[data-testid=result-count]:text-is("Showing 13–24 of 48")');
    expect(await page.getAttribute('.product-card', 'data-product')).not.to.equal(firstOnPage1);

    await page.click('.chip[data-category=kitchen]');
    await page.waitForURL(/category=kitchen/);
    await page.waitForSelector('.results-head h1:text-is("Kitchen")');
    await page.waitForSelector('[data-testid=result-count]');
    const categories = await page.$$eval('.product-card .card-category', (els) =>
      els.map((e) => e.textContent),
    );
    expect(categories.length).to.be.greaterThan(0);
    expect(new Set(categories)).to.deep.equal(new Set(['Kitchen']));

    await page.goto('/login');
    await page.waitForSelector('form.login-form');
    await shoot(page, 'login');
    await signIn(page, 'alice');

    await page.fill('.search input', 'knife');
    await page.press('.search input', 'Enter');
    await page.waitForURL(/\?q=knife/);
    await page.waitForSelector('[data-testid=result-count]');
    const names = await page.locator('.product-card .card-title').allTextContents();
    expect(names.length).to.be.greaterThan(0);
    expect(names.join(' ').toLowerCase()).to.include('knife');

    await page.locator('.product-card .card-title a').first().click();
    await page.waitForSelector('.product-detail h1');
    const productName = (await page.textContent('.product-detail h1'))!;
    await shoot(page, 'product');
    await page.click('.qty-btn[aria-label="One more"]');
    await page.click('[data-testid=add-to-cart]');
    await page.waitForSelector('[data-testid=cart-count]:text-is("2")');

    await page.click('a.cart-link');
    await page.waitForSelector('.cart-line');
    expect(await page.textContent('.cart-line .line-name')).to.equal(productName);
    expect(await page.textContent('[data-testid=quantity]')).to.equal('2');
    const totalOfTwo = await page.textContent('[data-testid=cart-total]');
    await page.click('.cart-line .qty-btn[aria-label="One less"]');
    await page.waitForSelector('[data-testid=quantity]:text-is("1")');
    expect(await page.textContent('[data-testid=cart-total]')).not.to.equal(totalOfTwo);
    await page.waitForSelector('[data-testid=cart-count]:text-is("1")');
    await shoot(page, 'cart');

    await page.click('[data-testid=go-checkout]');
    await page.waitForSelector('.pay-card[data-token=tok_visa] input:checked');
    await shoot(page, 'checkout');
    const checkout = page.waitForRequest(
      (r) => r.url().endsWith('/api/v1/checkout') && r.method() === 'POST',
    );
    const shownTotal = Number((await page.textContent('[data-testid=cart-total]'))!.replace(/[^\d]/g, ''));
    await page.click('[data-testid=place-order]');
    const request = await checkout;
    expect(request.headers()['idempotency-key']).to.match(/^[0-9a-f-]{36}$/);
    expect(request.postDataJSON()).to.deep.equal({
      paymentToken: 'tok_visa',
      expectedTotalCents: shownTotal,
    });

    confirmedOrderId = await orderStatus(page, 'CONFIRMED');
    const events = await page.$$eval('[data-testid=timeline] [data-event]', (els) =>
      els.map((e) => e.getAttribute('data-event')),
    );
    expect(events).to.include.members([
      'OrderPlaced',
      'OrderStockReserved',
      'OrderPaymentAuthorized',
      'OrderConfirmed',
    ]);
    expect(await page.textContent('.order-lines')).to.include(productName);
    await page.waitForSelector('[data-testid=cart-count]:text-is("0")');
    await shoot(page, 'order-confirmed');

    await page.click('a.nav-link[href="/orders"]');
    await page.waitForSelector(`[data-testid=orders] tr[data-order="${confirmedOrderId}"]`);
    expect(await page.textContent(`tr[data-order="${confirmedOrderId}"] .badge`)).to.equal('confirmed');
    await shoot(page, 'orders');
  });

  it('when bob pays with the declined card, then the order ends CANCELLED with the reason shown, and his cart can be emptied', async () => {
    const page = await ui.newPage();
    await signIn(page, 'bob');
    await page.goto('/products/bluetooth-speaker');
    await page.click('[data-testid=add-to-cart]');
    await page.waitForSelector('[data-testid=cart-count]:text-is("1")');
    await page.goto('/checkout');
    await page.click('.pay-card[data-token=tok_decline]');
    await page.click('[data-testid=place-order]');
    await orderStatus(page, 'CANCELLED');
    const reason = await page.textContent('[data-testid=order-reason]');
    expect(reason).to.match(/declined/i);
    expect(
      await page.$$eval('[data-testid=timeline] [data-event]', (els) =>
        els.map((e) => e.getAttribute('data-event')),
      ),
    ).to.include('OrderCancelled');
    await shoot(page, 'order-cancelled');

    // Nothing was bought: the cart still holds the speaker, and removing it empties the cart.
    await page.click('a.cart-link');
    await page.waitForSelector('.cart-line[data-product=bluetooth-speaker]');
    await page.click('[data-remove=bluetooth-speaker]');
    await page.waitForSelector('.state-empty:has-text("Your cart is empty")');
    await page.waitForSelector('[data-testid=cart-count]:text-is("0")');
  });

  it('when a price changes after bob put the product in his cart, then cart and checkout show it, and a total he did not see is never charged', async () => {
    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(`${ui.baseUrl}/api/v1${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status, `${method} ${path}`).to.equal(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const admin = (await api('POST', '/auth/token', undefined, { username: 'admin', password: 'admin' }))
      .access_token as string;
    const setPrice = (priceCents: number) =>
      api('PUT', '/admin/products/cast-iron-skillet', admin, { priceCents });
    await setPrice(1000);
    const page = await ui.newPage();
    await signIn(page, 'bob');
    await page.goto('/products/cast-iron-skillet');
    await page.click('[data-testid=add-to-cart]');
    await page.waitForSelector('[data-testid=cart-count]:text-is("1")');
    await setPrice(100_000);
    await page.goto('/cart');
    await page.waitForSelector('[data-testid=price-change]:has-text("from $10.00")');
    await page.waitForSelector('[data-testid=price-notice]');
    expect(await page.textContent('[data-testid=cart-total]')).to.equal('$1,000.00');
    await shoot(page, 'cart-price-changed');

    await page.goto('/checkout');
    await page.waitForSelector('[data-testid=place-order]');
    expect(await page.textContent('[data-testid=cart-total]')).to.equal('$1,000.00');
    // Changed again while bob looks at the total: placing the order must not charge what he has not seen.
    await setPrice(120_000);
    await page.click('[data-testid=place-order]');
    await page.waitForSelector('[data-testid=price-notice]:has-text("Prices changed while you were here")');
    expect(await page.textContent('[data-testid=cart-total]')).to.equal('$1,200.00');
    await page.click('[data-testid=place-order]');
    await orderStatus(page, 'CONFIRMED');
    expect(await page.textContent('.order-lines')).to.include('1,200.00');
  });

  it('when the admin opens the audit log, then the hash chain verifies ok and the records are listed; the saga opens from the order page', async () => {
    const page = await ui.newPage();
    await signIn(page, 'admin');
    await page.click('a.nav-link[href="/admin/audit"]');
    await page.waitForSelector('[data-testid=verify] [data-ok=true]');
    expect(await page.textContent('[data-testid=verify]')).to.match(/Chain verified.*All \d+ records/s);
    await page.waitForSelector('[data-testid=audit] tbody tr');
    expect(await page.locator('[data-testid=audit] tbody tr').count()).to.be.greaterThan(5);
    await shoot(page, 'admin-audit');
    // Older pages go by seq: the next page starts below the last record shown, whatever was appended meanwhile.
    const seqs = async () =>
      await page.$$eval('[data-testid=audit] tbody tr', (rows) =>
        rows.map((r) => Number(r.getAttribute('data-seq'))),
      );
    const first = await seqs();
    expect(first).to.have.length(25);
    await page.click('[data-testid=audit-next]');
    await page.waitForURL(/before=\d+/);
    await page.waitForSelector(`[data-testid=audit] tbody tr[data-seq="${first[24] - 1}"]`);
    expect((await seqs())[0]).to.equal(first[24] - 1);
    await page.click('[data-testid=audit-prev]');
    await page.waitForURL(/after=\d+/);
    await page.waitForSelector(`[data-testid=audit] tbody tr[data-seq="${first[24]}"]`);

    await page.goto(`/orders/${confirmedOrderId}`);
    await page.waitForSelector('[data-testid=order-status][data-status=CONFIRMED]');
    await page.click('[data-testid=saga-link]');
    await page.waitForSelector('[data-testid=saga]');
    expect(await page.getAttribute('[data-testid=saga]', 'data-status')).to.equal('COMPLETED');
    expect(await page.locator('.step').count()).to.be.greaterThan(3);
    await shoot(page, 'admin-saga');
  });

  it('when a product does not exist, then its page shows a friendly error with the problem title and detail', async () => {
    const page = await ui.newPage();
    await page.goto('/products/no-such-product');
    await page.waitForSelector('.state-error');
    expect(await page.textContent('.state-error h2')).to.equal('We could not find that product');
    const detail = (await page.textContent('.state-error .state-detail'))!;
    expect(detail).to.match(/not found/i);
    expect(await page.getAttribute('.state-error', 'data-status')).to.equal('404');
    expect(await page.locator('.state-error a.btn').getAttribute('href')).to.equal('/');
    await shoot(page, 'error');
  });

  it('when the store is opened on a phone-sized screen, then the grid and header fit without sideways scrolling', async () => {
    const page = await ui.newPage({ width: 390, height: 844 });
    await page.goto('/');
    await page.waitForSelector('.product-card img');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).to.be.at.most(0);
    await shoot(page, 'catalog-mobile');
  });

  it('when the pages have been visited, then each has a non-trivial PNG screenshot and no page raised an error', () => {
    expect([...shots.keys()]).to.include.members([
      'catalog',
      'login',
      'product',
      'cart',
      'checkout',
      'order-confirmed',
      'orders',
      'order-cancelled',
      'admin-audit',
      'admin-saga',
      'error',
      'catalog-mobile',
    ]);
    for (const [name, path] of shots) {
      const png = pngInfo(path);
      expect(png.bytes, name).to.be.greaterThan(10_000);
      expect(png.width, name).to.be.at.least(390);
      expect(png.height, name).to.be.at.least(600);
    }
    expect(ui.problems).to.deep.equal([]);
  });
});
