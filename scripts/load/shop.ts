// The public API as a shopper uses it, over one keep-alive connection pool, and the state of each demo account (what
// its cart holds, the order it follows) so every request it sends is one a real shopper could send.
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { Kind, MixKind } from './mix.ts';

export interface Account {
  readonly username: string;
  readonly password: string;
}

export interface Response {
  readonly status: number;
  readonly text: string;
}

export interface RequestPlan {
  readonly kind: Kind;
  readonly method: 'GET' | 'PUT' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Called with the answer (updates the account's state); returns an error text when the answer is wrong. */
  readonly check: (res: Response) => string | undefined;
}

/** Methods a client may send again when it cannot tell whether the server acted (RFC 9110, 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** The connection closed or was refused before any answer: undici's "other side closed", a reset, a refusal. */
const CONNECTION_LOST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_CLOSED']);

export class ShopClient {
  readonly pool: Pool;
  /** Requests sent again because their connection was lost before an answer (with `retryOnReset`). */
  retried = 0;

  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs: number,
    connections: number,
    /**
     * Send an idempotent request (by method, or carrying an Idempotency-Key) again, up to twice, when its connection
     * closes before an answer: what browsers, HTTP libraries and proxies do with a reused keep-alive connection the
     * server closed meanwhile.
     */
    private readonly retryOnReset = false,
  ) {
    this.pool = new Pool(new URL(baseUrl).origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  async send(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Readonly<Record<string, string>>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const retryable =
      this.retryOnReset &&
      (IDEMPOTENT.has(method) ||
        Object.keys(options.headers ?? {}).some((h) => h.toLowerCase() === 'idempotency-key'));
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sendOnce(method, path, options);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (!retryable || attempt >= 2 || typeof code !== 'string' || !CONNECTION_LOST.has(code)) throw err;
        this.retried++;
      }
    }
  }

  private async sendOnce(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Readonly<Record<string, string>>; signal?: AbortSignal },
  ): Promise<Response> {
    const res = await this.pool.request({
      method,
      path,
      headers: {
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: options.signal ?? AbortSignal.timeout(this.timeoutMs),
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  async json(method: string, path: string, body?: unknown, token?: string): Promise<any> {
    const res = await this.send(method, path, {
      body,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (res.status >= 300) {
      throw new Error(`load: ${method} ${path} answered ${res.status}: ${res.text.slice(0, 300)}`);
    }
    return JSON.parse(res.text);
  }

  async login(account: Account): Promise<string> {
    const body = await this.json('POST', '/api/v1/auth/token', {
      username: account.username,
      password: account.password,
    });
    if (typeof body?.access_token !== 'string') throw new Error('load: the token answer has no access_token');
    return body.access_token as string;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** What the generator needs to know about the catalog to browse it (fetched once before the run). */
export interface Catalog {
  readonly productIds: readonly string[];
  readonly categories: readonly string[];
  readonly words: readonly string[];
}

export async function readCatalog(client: ShopClient, token: string): Promise<Catalog> {
  const products: { id: string; name?: string; category?: string }[] = [];
  for (let page = 1; page <= 20; page++) {
    const body = await client.json('GET', `/api/v1/products?page=${page}&limit=50`, undefined, token);
    products.push(...(body.items as typeof products));
    if (products.length >= Number(body.total) || (body.items as unknown[]).length === 0) break;
  }
  if (products.length === 0) throw new Error('load: the catalog has no products');
  const words = new Set<string>();
  for (const p of products) {
    const word = p.name
      ?.split(/[^A-Za-z]+/)
      .find((w) => w.length > 3)
      ?.toLowerCase();
    if (word) words.add(word);
  }
  return {
    productIds: products.map((p) => p.id),
    categories: [...new Set(products.map((p) => p.category).filter((c): c is string => !!c))],
    words: [...words],
  };
}

/** A 404 of an order this soon after it was placed is the read model catching up, not a failure. */
const ORDER_VISIBLE_WITHIN_MS = 10_000;
/** Wait this long after placing an order before the first look at it (a shopper reads the confirmation first). */
const FOLLOW_AFTER_MS = 500;
/** A saga whose best-effort cart clearing failed leaves the cart full: stop waiting for it after this many looks. */
const MAX_CLEARING_LOOKS = 20;

/** One demo account's shopping state, shared by the virtual users logged in as it. */
export class Shopper {
  token = '';
  private putsInFlight = 0;
  private checkingOut = false;
  private hasItems = false;
  private order: { id: string; placedAt: number; phase: 'pending' | 'clearing'; looks: number } | undefined;
  readonly orders = { placed: 0, confirmed: 0, cancelled: 0, notYetVisible: 0 };

  constructor(
    readonly account: Account,
    private readonly catalog: Catalog,
    private readonly random: () => number,
    private readonly paymentToken: string,
  ) {}

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)];
  }

  /** The request to send for a drawn kind; a cart change or checkout becomes something else while it would race. */
  plan(kind: MixKind, now = performance.now()): RequestPlan {
    if (kind === 'cart-add' || kind === 'checkout') {
      if (this.order) return this.follow(now);
      if (this.checkingOut) return this.product();
      if (kind === 'checkout') {
        if (this.putsInFlight > 0) return this.product();
        if (!this.hasItems) return this.addToCart();
        return this.checkout();
      }
      return this.addToCart();
    }
    switch (kind) {
      case 'home':
        return this.get('home', '/api/v1/products?page=1&limit=12');
      case 'product':
        return this.product();
      case 'search': {
        const byCategory = this.catalog.categories.length > 0 && this.random() < 0.5;
        return this.get(
          'search',
          byCategory
            ? `/api/v1/products?category=${encodeURIComponent(this.pick(this.catalog.categories))}&limit=12`
            : `/api/v1/products?q=${encodeURIComponent(this.pick(this.catalog.words))}&limit=12`,
        );
      }
      case 'cart':
        return this.viewCart();
    }
  }

  private get(kind: Kind, path: string): RequestPlan {
    return { kind, method: 'GET', path, check: ok(200) };
  }

  private product(): RequestPlan {
    return this.get('product', `/api/v1/products/${encodeURIComponent(this.pick(this.catalog.productIds))}`);
  }

  private viewCart(): RequestPlan {
    return {
      kind: 'cart',
      method: 'GET',
      path: '/api/v1/cart',
      check: (res) => {
        const wrong = ok(200)(res);
        if (wrong) return wrong;
        if (this.order?.phase === 'clearing') {
          const cart = JSON.parse(res.text) as { items?: unknown[] };
          if ((cart.items ?? []).length === 0 || ++this.order.looks >= MAX_CLEARING_LOOKS) {
            this.hasItems = (cart.items ?? []).length > 0;
            this.order = undefined;
          }
        }
        return undefined;
      },
    };
  }

  private addToCart(): RequestPlan {
    this.putsInFlight++;
    const quantity = 1 + Math.floor(this.random() * 3);
    return {
      kind: 'cart-add',
      method: 'PUT',
      path: `/api/v1/cart/items/${encodeURIComponent(this.pick(this.catalog.productIds))}`,
      body: { quantity },
      check: (res) => {
        this.putsInFlight--;
        const wrong = ok(200)(res);
        if (!wrong) this.hasItems = true;
        return wrong;
      },
    };
  }

  private checkout(): RequestPlan {
    this.checkingOut = true;
    return {
      kind: 'checkout',
      method: 'POST',
      path: '/api/v1/checkout',
      body: { paymentToken: this.paymentToken },
      headers: { 'idempotency-key': randomUUID() },
      check: (res) => {
        this.checkingOut = false;
        const wrong = ok(202)(res);
        if (wrong) return wrong;
        const body = JSON.parse(res.text) as { orderId?: string };
        if (typeof body.orderId !== 'string') return 'no orderId in the answer';
        this.order = { id: body.orderId, placedAt: performance.now(), phase: 'pending', looks: 0 };
        this.orders.placed++;
        return undefined;
      },
    };
  }

  /** While an order is being placed: look at it until it ends, then at the cart until the saga emptied it. */
  private follow(now: number): RequestPlan {
    const order = this.order!;
    if (order.phase === 'clearing') return this.viewCart();
    if (now - order.placedAt < FOLLOW_AFTER_MS) return this.product();
    return {
      kind: 'order',
      method: 'GET',
      path: `/api/v1/orders/${encodeURIComponent(order.id)}`,
      check: (res) => {
        // Another look at this order already saw it end.
        if (this.order !== order || order.phase !== 'pending') return ok(200)(res);
        if (res.status === 404 && performance.now() - order.placedAt < ORDER_VISIBLE_WITHIN_MS) {
          this.orders.notYetVisible++;
          return undefined;
        }
        const wrong = ok(200)(res);
        if (wrong) return wrong;
        const status = (JSON.parse(res.text) as { status?: string }).status;
        if (status === 'CONFIRMED') {
          this.orders.confirmed++;
          order.phase = 'clearing';
        } else if (status === 'CANCELLED') {
          // A failed saga leaves the cart as it was.
          this.orders.cancelled++;
          this.order = undefined;
        }
        return undefined;
      },
    };
  }
}

function ok(expected: number): (res: Response) => string | undefined {
  return (res) => (res.status === expected ? undefined : `expected ${expected}`);
}
