// Completed checkouts per second end to end, and saga latency, with every service in its own process against the
// test environment's real Redis and FerretDB (`make testenv-up` first).
import { randomUUID } from 'node:crypto';
import { call, startRealSystem } from '../test/e2e/support/real-system.ts';

const users = Number(process.env.BENCH_CHECKOUT_USERS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
// Polling is load too (each poll is a database read): the saga's latency comes from its own log, and the poll only
// learns that it ended.
const POLL_MS = 250;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function checkout(): Promise<Record<string, unknown>> {
  const system = await startRealSystem({ env: { LOG_LEVEL: 'error' } });
  try {
    const list = await call(system.url('catalog'), 'GET', '/products?limit=40');
    const products = list.body.items as { id: string }[];
    for (const p of products) {
      await call(system.url('inventory'), 'PUT', `/admin/stock/${p.id}`, { available: 1_000_000 });
    }
    const latencies: number[] = [];
    const outcomes: Record<string, number> = {};
    let errors = 0;
    let started = 0;
    const deadline = Date.now() + seconds * 1000;
    const t0 = Date.now();

    const customer = async (n: number): Promise<void> => {
      const userId = `bench-${n}-${randomUUID().slice(0, 6)}`;
      let i = n;
      while (Date.now() < deadline) {
        const product = products[i++ % products.length];
        const added = await call(system.url('cart'), 'PUT', `/carts/${userId}/items/${product.id}`, {
          quantity: 1,
        });
        if (added.status !== 200) {
          errors++;
          continue;
        }
        const res = await call(
          system.url('checkout'),
          'POST',
          '/checkouts',
          { userId, paymentToken: 'tok_visa' },
          { 'idempotency-key': randomUUID() },
        );
        started++;
        if (res.status !== 202) {
          errors++;
          continue;
        }
        for (;;) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          const saga = await call(system.url('checkout'), 'GET', `/checkouts/${res.body.sagaId}`);
          const status = saga.body?.status as string | undefined;
          if (status && !['RUNNING', 'COMPENSATING', 'PENDING'].includes(status)) {
            outcomes[status] = (outcomes[status] ?? 0) + 1;
            const log = saga.body.log as { at: string }[];
            if (status === 'COMPLETED')
              latencies.push(Date.parse(log[log.length - 1].at) - Date.parse(log[0].at));
            else errors++;
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: users }, (_, n) => customer(n)));
    const elapsed = (Date.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      users,
      seconds: Number(elapsed.toFixed(1)),
      checkouts_started: started,
      checkouts_completed: latencies.length,
      checkouts_per_second: Number((latencies.length / elapsed).toFixed(2)),
      saga_p50_ms: Number(percentile(latencies, 50).toFixed(1)),
      saga_p99_ms: Number(percentile(latencies, 99).toFixed(1)),
      saga_latency: 'from the saga log: saga-started to saga-completed',
      outcomes,
      errors,
    };
  } finally {
    await system.close();
  }
}
