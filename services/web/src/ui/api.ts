/// <reference lib="dom" />
// The gateway's public API (/api/v1), typed as the UI uses it. Errors are RFC 9457 problem+json; ApiError keeps
// their title and detail so every page can show them.
import { session } from './session.ts';

export interface Product {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly image?: string;
  readonly imageUrl?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly page: number;
  readonly limit: number;
  readonly total: number;
}

export interface Category {
  readonly id: string;
  readonly name: string;
  readonly count?: number;
}

export interface CartLine {
  readonly productId: string;
  readonly name: string;
  readonly image?: string;
  /** The catalog's price now: what a checkout charges. */
  readonly unitPriceCents: number;
  readonly quantity: number;
  readonly lineTotalCents: number;
  /** The price when the line was put, present only when it has changed since. */
  readonly priceWhenAddedCents?: number;
  /** The catalog no longer has the product (a checkout is refused). */
  readonly unavailable?: boolean;
}

export interface Cart {
  readonly items: CartLine[];
  readonly totalCents: number;
  readonly currency: string;
  readonly itemCount: number;
}

export interface HistoryEntry {
  readonly type: string;
  readonly version?: number;
  readonly at: string;
  readonly data?: Record<string, unknown>;
}

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export interface Order {
  readonly id: string;
  readonly userId?: string;
  readonly status: OrderStatus;
  readonly reason?: string;
  readonly items: { productId: string; name: string; unitPriceCents: number; quantity: number }[];
  readonly totalCents: number;
  readonly currency?: string;
  readonly reservationId?: string;
  readonly paymentId?: string;
  readonly sagaId?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly history?: HistoryEntry[];
}

export interface CheckoutAccepted {
  readonly orderId: string;
  readonly status: string;
  readonly sagaId?: string;
}

/** A page of the audit trail by seq cursor: `older` / `newer` are the cursors of its neighbours, when it has them. */
export interface AuditPage {
  readonly items: AuditRecord[];
  readonly limit: number;
  readonly total: number;
  readonly older?: number;
  readonly newer?: number;
}

export interface AuditRecord {
  readonly seq: number;
  readonly id: string;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly resource: string;
  readonly traceId?: string | null;
  readonly data?: unknown;
  readonly hash: string;
  readonly prevHash?: string;
}

export interface AuditVerify {
  readonly ok: boolean;
  readonly records: number;
  readonly firstInvalid?: { seq: number; id: string; reason: string };
}

export interface SagaStep {
  readonly name: string;
  readonly status: string;
  readonly attempts: number;
  readonly compensationAttempts?: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly error?: { kind: string; code: string; message: string };
  readonly compensationError?: { kind: string; code: string; message: string };
}

export interface Saga {
  readonly sagaId: string;
  readonly orderId: string;
  readonly userId: string;
  readonly status: string;
  readonly checkoutStatus: string;
  readonly reason?: string;
  readonly totalCents: number;
  readonly currency: string;
  readonly steps: SagaStep[];
  readonly log: { at: string; event: string; step?: string; attempt?: number; detail?: string }[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

/** A failed call: the problem's title and detail, ready to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly problemType?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
  }
}

interface Problem {
  type?: string;
  title?: string;
  detail?: string;
  errors?: { field?: string; message?: string }[];
}

export const API = '/api/v1';

interface CallOptions {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = {
    accept: 'application/json, application/problem+json',
    ...options.headers,
  };
  const token = session.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${API}${path}`, {
      method,
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The store cannot be reached', 'Check your connection and try again.');
  }
  const type = res.headers.get('content-type') ?? '';
  const payload: unknown = type.includes('json') ? await res.json().catch(() => undefined) : undefined;
  if (!res.ok) {
    const problem = (payload ?? {}) as Problem;
    const fields = (problem.errors ?? [])
      .map((e) => [e.field, e.message].filter(Boolean).join(' '))
      .filter(Boolean);
    const detail = [problem.detail, ...fields].filter(Boolean).join(' — ');
    if (res.status === 401 && token) session.expire();
    throw new ApiError(
      res.status,
      problem.title ?? (res.statusText || `HTTP ${res.status}`),
      detail,
      problem.type,
    );
  }
  return payload as T;
}

const enc = encodeURIComponent;
const qs = (query: Record<string, string | number | undefined>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};

export const api = {
  token: (username: string, password: string) =>
    call<{ access_token: string; token_type: string; expires_in: number }>('POST', '/auth/token', {
      body: { username, password },
    }),
  me: (signal?: AbortSignal) =>
    call<{ sub?: string; username?: string; roles?: string[]; role?: string }>('GET', '/me', { signal }),
  categories: (signal?: AbortSignal) => call<{ items: Category[] }>('GET', '/categories', { signal }),
  products: (query: { q?: string; category?: string; page?: number; limit?: number }, signal?: AbortSignal) =>
    call<Page<Product>>('GET', `/products${qs(query)}`, { signal }),
  product: (id: string, signal?: AbortSignal) => call<Product>('GET', `/products/${enc(id)}`, { signal }),
  cart: (signal?: AbortSignal) => call<Cart>('GET', '/cart', { signal }),
  setQuantity: (productId: string, quantity: number) =>
    call<Cart>('PUT', `/cart/items/${enc(productId)}`, { body: { quantity } }),
  removeItem: (productId: string) => call<Cart | undefined>('DELETE', `/cart/items/${enc(productId)}`),
  /** `expectedTotalCents`: the total shown; the gateway refuses another one (409 price-changed). */
  checkout: (paymentToken: string, idempotencyKey: string, expectedTotalCents: number) =>
    call<CheckoutAccepted>('POST', '/checkout', {
      body: { paymentToken, expectedTotalCents },
      headers: { 'idempotency-key': idempotencyKey },
    }),
  orders: (signal?: AbortSignal) => call<Page<Order> | { items: Order[] }>('GET', '/orders', { signal }),
  order: (id: string, signal?: AbortSignal) => call<Order>('GET', `/orders/${enc(id)}`, { signal }),
  orderEvents: (id: string, signal?: AbortSignal) =>
    call<{
      items: {
        type: string;
        version?: number;
        occurredAt?: string;
        at?: string;
        data?: Record<string, unknown>;
      }[];
    }>('GET', `/orders/${enc(id)}/events`, { signal }),
  audit: (
    query: { actor?: string; resource?: string; before?: number; after?: number; limit?: number },
    signal?: AbortSignal,
  ) => call<AuditPage>('GET', `/admin/audit${qs(query)}`, { signal }),
  verifyAudit: (signal?: AbortSignal) => call<AuditVerify>('GET', '/admin/audit/verify', { signal }),
  sagas: (query: { status?: string; limit?: number }, signal?: AbortSignal) =>
    call<{ items: Saga[] }>('GET', `/admin/sagas${qs(query)}`, { signal }),
  saga: (id: string, signal?: AbortSignal) => call<Saga>('GET', `/admin/sagas/${enc(id)}`, { signal }),
};

/** Where a product's picture is served through the gateway. */
export function productImageUrl(p: {
  id?: string;
  productId?: string;
  image?: string;
  imageUrl?: string;
}): string {
  if (p.imageUrl) return p.imageUrl;
  const image = p.image ?? '';
  if (/^(https?:)?\/\//.test(image) || image.startsWith(`${API}/`) || image.startsWith('data:')) return image;
  if (image.startsWith('/images/')) return `${API}${image}`;
  // Order lines carry no picture: catalog names each product's picture after its id.
  return `${API}/images/${enc(p.id ?? p.productId ?? '')}.svg`;
}

/** A random UUID; crypto.randomUUID only exists in secure contexts, so plain-HTTP deployments get the fallback. */
export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
