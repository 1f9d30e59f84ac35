// The chaos run's customers, through the gateway as a browser that keeps trying would: each puts a few lines in a cart,
// checks out with an Idempotency-Key of its own, and follows the order until it is settled. A request that fails for
// lack of an answer (a connection refused or reset, 5xx, 429, a request still in progress) is sent again, the checkout
// with the same key, so a crash costs the customer time, never a second order; a refusal (4xx) is an answer.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchShop } from '../shop.ts';

export interface Line {
  readonly productId: string;
  readonly quantity: number;
}

export interface CheckoutPlan {
  readonly n: number;
  readonly customer: string;
  readonly lines: readonly Line[];
  readonly paymentToken: string;
}

export type CheckoutOutcome = 'CONFIRMED' | 'CANCELLED' | 'REFUSED' | 'UNSETTLED';

export interface CheckoutRecord extends CheckoutPlan {
  readonly key: string;
  readonly outcome: CheckoutOutcome;
  readonly orderId?: string;
  readonly sagaId?: string;
  /** The order's cancellation reason, the refusal, or why it never settled. */
  readonly reason?: string;
  /** From sending the checkout to reading the settled order. */
  readonly ms: number;
  /** Requests sent again after a failure without an answer. */
  readonly retries: number;
}

type Answer = { status: number; body: Record<string, unknown> };

/** No answer to act on: the request may or may not have been done, so an idempotent one is sent again. */
function unanswered(res: Answer): boolean {
  return (
    res.status >= 500 ||
    res.status === 429 ||
    res.status === 408 ||
    (res.status === 409 &&
      typeof res.body.type === 'string' &&
      res.body.type.endsWith('/request-in-progress'))
  );
}

const problem = (res: Answer): string =>
  `${res.status} ${typeof res.body.type === 'string' ? res.body.type.replace(/^.*\/problems\//, '') : ''}`.trim();

export interface CustomerOptions {
  /** How long one request is retried before the checkout is given up as UNSETTLED. @default 180000 */
  readonly patienceMs?: number;
}

/** Runs one plan to its end. */
export async function checkout(
  shop: BenchShop,
  plan: CheckoutPlan,
  options: CustomerOptions = {},
): Promise<CheckoutRecord> {
  const patienceMs = options.patienceMs ?? 180_000;
  const key = randomUUID();
  let retries = 0;
  const send = async (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer> => {
    const deadline = performance.now() + patienceMs;
    for (let attempt = 0; ; attempt++) {
      let res: Answer;
      try {
        res = await shop.send(plan.customer, method, path, body, headers);
      } catch (err) {
        res = { status: 0, body: { type: (err as { code?: string }).code ?? (err as Error).message } };
      }
      if (!(res.status === 0 || unanswered(res)) || performance.now() > deadline) return res;
      retries++;
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
    }
  };
  const end = (
    outcome: CheckoutOutcome,
    t0: number,
    extra: Partial<CheckoutRecord> = {},
  ): CheckoutRecord => ({
    ...plan,
    key,
    outcome,
    ms: performance.now() - t0,
    retries,
    ...extra,
  });

  let t0 = performance.now();
  for (const line of plan.lines) {
    const put = await send('PUT', `/api/v1/cart/items/${line.productId}`, { quantity: line.quantity });
    if (put.status !== 200)
      return end(put.status === 0 || unanswered(put) ? 'UNSETTLED' : 'REFUSED', t0, {
        reason: `cart ${problem(put)}`,
      });
  }
  t0 = performance.now();
  const started = await send(
    'POST',
    '/api/v1/checkout',
    { paymentToken: plan.paymentToken },
    { 'idempotency-key': key },
  );
  if (started.status !== 202) {
    return end(unanswered(started) || started.status === 0 ? 'UNSETTLED' : 'REFUSED', t0, {
      reason: `checkout ${problem(started)}`,
    });
  }
  const orderId = String(started.body.orderId);
  const sagaId = String(started.body.sagaId);
  const deadline = performance.now() + patienceMs;
  while (performance.now() < deadline) {
    const order = await send('GET', `/api/v1/orders/${orderId}`, undefined, { prefer: 'wait=20' });
    const status = order.body.status;
    if (order.status === 200 && (status === 'CONFIRMED' || status === 'CANCELLED')) {
      return end(status, t0, {
        orderId,
        sagaId,
        ...(typeof order.body.reason === 'string' ? { reason: order.body.reason } : {}),
      });
    }
    // 404: the order is not placed yet (the saga's first step has not run); 200 PENDING: not settled yet.
    if (order.status !== 200 && order.status !== 404) {
      return end('UNSETTLED', t0, { orderId, sagaId, reason: `order ${problem(order)}` });
    }
    if (order.status === 404) await sleep(200);
  }
  return end('UNSETTLED', t0, { orderId, sagaId, reason: `not settled after ${patienceMs} ms` });
}

export interface CrowdProgress {
  readonly started: number;
  readonly done: number;
  readonly inFlight: number;
}

/**
 * `plans.length` checkouts by `concurrency` customers at a time (a closed loop: a slow system is offered less, which
 * keeps a crashed one from being buried under a backlog it could never clear on two cores).
 */
export async function crowd(
  shop: BenchShop,
  plans: readonly CheckoutPlan[],
  concurrency: number,
  onProgress?: (p: CrowdProgress) => void,
  options: CustomerOptions = {},
): Promise<CheckoutRecord[]> {
  const records: CheckoutRecord[] = [];
  let next = 0;
  let inFlight = 0;
  const report = () => onProgress?.({ started: next, done: records.length, inFlight });
  await Promise.all(
    Array.from({ length: Math.min(concurrency, plans.length) }, async () => {
      while (next < plans.length) {
        const plan = plans[next++];
        inFlight++;
        report();
        records.push(await checkout(shop, plan, options));
        inFlight--;
        report();
      }
    }),
  );
  return records.sort((a, b) => a.n - b.n);
}
