// Customers of the benchmark, through the gateway as a shopper's browser calls it: a token per customer (signed with
// the gateway's own issuer and key, so any number of distinct customers exist), a cart line, a checkout, and one
// `Prefer: wait` read that returns when the order is settled.
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { LocalIssuer } from '../../services/gateway/src/domain/tokens.ts';

/** Handed to the gateway as JWT_SIGNING_KEY so the benchmark can sign its customers' tokens. */
export const BENCH_SIGNING_KEY = 'meshmart-benchmark-signing-key-0123456789abcdef';

export interface CheckoutResult {
  readonly status: 'CONFIRMED' | 'CANCELLED' | 'PENDING' | 'ERROR';
  /** From sending POST /api/v1/checkout to reading the settled order. */
  readonly ms: number;
  readonly error?: string;
}

export class BenchShop {
  private readonly pool: Pool;
  private readonly issuer = new LocalIssuer({
    issuer: 'meshmart-gateway',
    audience: 'meshmart',
    rolesClaim: 'roles',
    signingKey: new TextEncoder().encode(BENCH_SIGNING_KEY),
    ttlSeconds: 3600,
  });
  private readonly tokens = new Map<string, string>();

  constructor(
    gatewayUrl: string,
    private readonly productIds: readonly string[],
    connections = 256,
  ) {
    this.pool = new Pool(gatewayUrl, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  private async token(customer: string): Promise<string> {
    let token = this.tokens.get(customer);
    if (!token) {
      token = (await this.issuer.issue({ username: customer, password: '', roles: ['customer'] }))
        .access_token;
      this.tokens.set(customer, token);
    }
    return token;
  }

  /** One request as `customer` (signed in with a token of its own); the chaos run sends its own flow with it. */
  async send(
    customer: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.pool.request({
      method,
      path,
      headers: {
        authorization: `Bearer ${await this.token(customer)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: res.statusCode, body: parsed };
  }

  /** One purchase of one product by `customer`; the time counts from the checkout request to the settled order. */
  async purchase(customer: string, n: number): Promise<CheckoutResult> {
    const productId = this.productIds[n % this.productIds.length];
    try {
      const added = await this.send(customer, 'PUT', `/api/v1/cart/items/${productId}`, { quantity: 1 });
      if (added.status !== 200) return failed(0, `cart ${added.status} ${problemType(added.body)}`);
      const start = performance.now();
      const started = await this.send(
        customer,
        'POST',
        '/api/v1/checkout',
        { paymentToken: 'tok_visa' },
        { 'idempotency-key': randomUUID() },
      );
      if (started.status !== 202) {
        return failed(performance.now() - start, `checkout ${started.status} ${problemType(started.body)}`);
      }
      // Waits of 20 s until settled; a 404 means the saga has not placed the order yet: ask again, for 2 minutes.
      const giveUp = performance.now() + 120_000;
      while (performance.now() < giveUp) {
        const order = await this.send(
          customer,
          'GET',
          `/api/v1/orders/${String(started.body.orderId)}`,
          undefined,
          { prefer: 'wait=20' },
        );
        const status = order.body.status;
        if (order.status === 200 && (status === 'CONFIRMED' || status === 'CANCELLED')) {
          return { status, ms: performance.now() - start };
        }
        if (order.status !== 200 && order.status !== 404) {
          return failed(performance.now() - start, `order ${order.status} ${problemType(order.body)}`);
        }
      }
      return { status: 'PENDING', ms: performance.now() - start, error: 'not settled within 2 minutes' };
    } catch (err) {
      return failed(0, err instanceof Error ? err.message : String(err));
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function failed(ms: number, error: string): CheckoutResult {
  return { status: 'ERROR', ms, error };
}

function problemType(body: Record<string, unknown>): string {
  return typeof body.type === 'string' ? body.type : '';
}
