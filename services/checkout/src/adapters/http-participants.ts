import type { Registry } from 'prom-client';
import type { Logger } from '@meshmart/kit';
import { createHttpClient, type HttpClient, type HttpMethod, type UpstreamPolicy } from '@meshmart/kit/http';
import {
  ParticipantError,
  type CallOptions,
  type CartSnapshot,
  type OrderLine,
  type OrderResult,
  type Participants,
  type PaymentResult,
  type ReservationResult,
} from './participants.ts';

export interface HttpParticipantsProps {
  readonly ordersUrl: string;
  readonly inventoryUrl: string;
  readonly paymentsUrl: string;
  readonly cartUrl: string;
  /** Deadline of one call. @default 3000 */
  readonly timeoutMs?: number;
  /** Per-upstream timeouts, breaker and pool from the deployment (`upstreamPolicyFromEnv`); retries stay 0. */
  readonly policies?: Readonly<Record<string, UpstreamPolicy>>;
  readonly registry?: Registry;
  readonly logger?: Logger;
}

interface Problem {
  readonly type?: string;
  readonly detail?: string;
  readonly reason?: string;
  readonly products?: readonly unknown[];
  readonly [extension: string]: unknown;
}

interface Payment {
  readonly id: string;
  readonly status: string;
}

/**
 * The participants over HTTP (the services' internal APIs). The saga owns retries, so the clients make one attempt;
 * answers are sorted into business refusals (4xx: retrying cannot help) and transient failures (5xx, 408, 429, a 4xx
 * with Retry-After or saying the request is still in progress, timeouts, unreachable).
 */
export class HttpParticipants implements Participants {
  private readonly clients: readonly HttpClient[];
  private readonly ordersClient: HttpClient;
  private readonly inventoryClient: HttpClient;
  private readonly paymentsClient: HttpClient;
  private readonly cartClient: HttpClient;

  constructor(props: HttpParticipantsProps) {
    const make = (upstream: string, baseUrl: string): HttpClient =>
      createHttpClient({
        upstream,
        baseUrl,
        timeoutMs: props.timeoutMs ?? 3000,
        ...props.policies?.[upstream],
        retries: 0,
        ...(props.registry ? { registry: props.registry } : {}),
        ...(props.logger ? { logger: props.logger } : {}),
      });
    this.ordersClient = make('orders', props.ordersUrl);
    this.inventoryClient = make('inventory', props.inventoryUrl);
    this.paymentsClient = make('payments', props.paymentsUrl);
    this.cartClient = make('cart', props.cartUrl);
    this.clients = [this.ordersClient, this.inventoryClient, this.paymentsClient, this.cartClient];
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }

  readonly orders: Participants['orders'] = {
    place: (input, o) => send<OrderResult>(this.ordersClient, 'POST', '/orders', input, o),
    stockReserved: ({ orderId, reservationId }, o) =>
      send<OrderResult>(
        this.ordersClient,
        'POST',
        `/orders/${enc(orderId)}/stock-reserved`,
        { reservationId },
        o,
      ),
    paymentAuthorized: ({ orderId, paymentId }, o) =>
      send<OrderResult>(
        this.ordersClient,
        'POST',
        `/orders/${enc(orderId)}/payment-authorized`,
        { paymentId },
        o,
      ),
    confirm: ({ orderId }, o) =>
      send<OrderResult>(this.ordersClient, 'POST', `/orders/${enc(orderId)}/confirm`, {}, o),
    cancel: ({ orderId, reason }, o) =>
      send<OrderResult>(this.ordersClient, 'POST', `/orders/${enc(orderId)}/cancel`, { reason }, o),
  };

  readonly inventory: Participants['inventory'] = {
    reserve: (input, o) => send<ReservationResult>(this.inventoryClient, 'POST', '/reservations', input, o),
    commit: ({ reservationId }, o) =>
      send<ReservationResult>(
        this.inventoryClient,
        'POST',
        `/reservations/${enc(reservationId)}/commit`,
        {},
        o,
      ),
    release: ({ reservationId }, o) =>
      send<ReservationResult>(
        this.inventoryClient,
        'POST',
        `/reservations/${enc(reservationId)}/release`,
        {},
        o,
      ),
  };

  readonly payments: Participants['payments'] = {
    authorize: (input, o) =>
      send<PaymentResult>(this.paymentsClient, 'POST', '/payments/authorizations', input, o),
    capture: async ({ paymentId }, o) => {
      try {
        return await send<PaymentResult>(
          this.paymentsClient,
          'POST',
          `/payments/${enc(paymentId)}/capture`,
          {},
          o,
        );
      } catch (err) {
        if (!(err instanceof ParticipantError) || err.code !== 'invalid-transition') throw err;
        // Already captured is what we want: payments killed after capturing and before keeping the key's answer runs
        // the repeat again once the key's lease is over, and the payment it finds CAPTURED refuses a second capture.
        const now = await send<Payment>(
          this.paymentsClient,
          'GET',
          `/payments/${enc(paymentId)}`,
          undefined,
          o,
        );
        if (now.status !== 'CAPTURED') throw err;
        return { id: now.id, status: now.status };
      }
    },
    voidAuthorization: async ({ orderId, paymentId }, o) => {
      let ids: string[];
      if (paymentId) ids = [paymentId];
      else {
        // The authorization's answer was lost: void whatever the order has authorized.
        const listed = await send<{ items?: Payment[] } | Payment[]>(
          this.paymentsClient,
          'GET',
          `/payments?orderId=${enc(orderId)}`,
          undefined,
          o,
        );
        const payments = Array.isArray(listed) ? listed : (listed.items ?? []);
        ids = payments.filter((p) => p.status === 'AUTHORIZED').map((p) => p.id);
      }
      for (const id of ids) {
        const key = ids.length === 1 && paymentId ? o.idempotencyKey : `${o.idempotencyKey}:${id}`;
        try {
          await send<Payment>(
            this.paymentsClient,
            'POST',
            `/payments/${enc(id)}/void`,
            {},
            {
              ...o,
              idempotencyKey: key,
            },
          );
        } catch (err) {
          if (!(err instanceof ParticipantError) || err.code !== 'invalid-transition') throw err;
          // Already voided (say by a run that crashed after voiding) is what we want; anything else is not.
          const now = await send<Payment>(this.paymentsClient, 'GET', `/payments/${enc(id)}`, undefined, o);
          if (now.status !== 'VOIDED') throw err;
        }
      }
      return { voided: ids };
    },
  };

  readonly cart: Participants['cart'] = {
    get: async ({ userId }, o) => {
      const cart = await send<{
        userId: string;
        items?: (OrderLine & Record<string, unknown>)[];
        totalCents?: number;
        currency?: string;
      }>(this.cartClient, 'GET', `/carts/${enc(userId)}`, undefined, o);
      const items = (cart.items ?? []).map((i) => ({
        productId: i.productId,
        name: i.name,
        unitPriceCents: i.unitPriceCents,
        quantity: i.quantity,
      }));
      const unavailable = (cart.items ?? []).filter((i) => i.unavailable === true).map((i) => i.productId);
      return {
        userId,
        items,
        totalCents: cart.totalCents ?? items.reduce((n, i) => n + i.unitPriceCents * i.quantity, 0),
        currency: cart.currency ?? 'USD',
        ...(unavailable.length > 0 ? { unavailable } : {}),
      } satisfies CartSnapshot;
    },
    removeBought: async ({ userId, orderId, items }, o) => {
      const answer = await send<{ removed: boolean }>(
        this.cartClient,
        'POST',
        `/carts/${enc(userId)}/bought`,
        { orderId, items: items.map((i) => ({ productId: i.productId, quantity: i.quantity })) },
        o,
      );
      return { removed: answer.removed };
    },
  };
}

async function send<T>(
  client: HttpClient,
  method: HttpMethod,
  path: string,
  body: unknown,
  options: CallOptions,
): Promise<T> {
  let res;
  try {
    res = await client.request<T>({
      method,
      path,
      ...(body === undefined ? {} : { body }),
      ...(method === 'GET' ? {} : { idempotencyKey: options.idempotencyKey }),
      ...(options.context ? { context: options.context } : {}),
    });
  } catch (err) {
    // The kit's client throws for 5xx, timeouts, refused connections and an open circuit.
    const status = (err as { status?: unknown }).status;
    const code = (err as { code?: unknown }).code;
    throw ParticipantError.transient(
      typeof code === 'string' ? code : 'unavailable',
      `${client.upstream}: ${err instanceof Error ? err.message : String(err)}`,
      typeof status === 'number' ? status : undefined,
      err,
    );
  }
  if (res.status >= 200 && res.status < 300) return res.body;
  throw refusal(client.upstream, res.status, res.body, res.headers['retry-after'] !== undefined);
}

/**
 * Conflicts that say "not yet" rather than "no": the same request is still being made (payments' Idempotency-Key
 * held by a call a crash interrupted, until its lease runs out; a reservation still PENDING). Taken for refusals, they
 * cancelled checkouts, and after the pivot left a CONFIRMED order uncaptured for an operator.
 */
const IN_PROGRESS = new Set(['request-in-progress', 'reservation-pending']);

function refusal(upstream: string, status: number, body: unknown, retryAfter = false): ParticipantError {
  const problem: Problem = typeof body === 'object' && body !== null ? (body as Problem) : {};
  const code = problem.type?.replace(/^.*\/problems\//, '') ?? `http-${status}`;
  const detail = problem.detail ?? `answered ${status}`;
  if (status === 408 || status === 429 || retryAfter || IN_PROGRESS.has(code))
    return ParticipantError.transient(code, `${upstream}: ${detail}`, status);
  if (status === 404) return ParticipantError.business('not-found', `${upstream}: ${detail}`, status);
  const { type: _t, title: _ti, status: _s, detail: _d, ...details } = problem;
  if (code === 'payment-declined')
    return ParticipantError.business(
      code,
      `payment declined: ${problem.reason ?? 'declined'}`,
      status,
      details,
    );
  if (code === 'invalid-payment-token')
    return ParticipantError.business(code, 'payment rejected: invalid payment token', status, details);
  if (code === 'out-of-stock') {
    const products = (problem.products ?? []).map((p) =>
      typeof p === 'object' && p !== null && 'productId' in p ? String(p.productId) : String(p),
    );
    return ParticipantError.business(code, `out of stock: ${products.join(', ')}`, status, details);
  }
  return ParticipantError.business(code, `${upstream}: ${detail}`, status, details);
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
