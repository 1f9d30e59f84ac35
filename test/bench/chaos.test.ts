import { expect } from 'chai';
import type { ServiceName } from '@meshmart/catalogue';
import { judge, invariantTable, type Verdict } from '../../bench/support/chaos/invariants.ts';
import { runChaos, type ChaosResult } from '../../bench/support/chaos/run.ts';

// The short version of `make chaos` (bench/chaos.ts runs 1,000 checkouts and three kills of each service): every
// service in its own process on a Redis and a FerretDB of the test's own, killed while customers check out.
describe('make chaos, short: crashes during checkouts (own processes, own Redis and FerretDB)', function () {
  this.timeout(300_000);
  let result: ChaosResult;
  let tampered: Verdict;

  before(async () => {
    result = await runChaos({
      checkouts: 100,
      concurrency: 12,
      killsPerService: 1,
      faultConcurrency: 3,
      maxDownMs: 500,
      maxPaymentLatencyMs: 300,
      seed: 14,
      // A killed checkout's sagas are resumed once their lease runs out: 10 s instead of 30 keeps the test short.
      serviceEnv: (s: ServiceName): Record<string, string> =>
        s === 'checkout' ? { SAGA_LEASE_MS: '10000', SAGA_RECOVERY_INTERVAL_MS: '1000' } : {},
      settleTimeoutMs: 90_000,
      log: process.env.CHAOS_VERBOSE ? (line) => console.log(line) : undefined,
      // Break one fact of each kind the invariants read, to show that each is really checked.
      inspect: async (input) => {
        const { cluster } = input;
        const db = (s: ServiceName) => cluster.mongo.db(cluster.database(s));
        const [product] = input.initialStock.keys();
        await db('inventory')
          .collection('stock')
          .updateOne({ _id: product as never }, { $inc: { available: 1 } });
        const payment = await db('payments').collection('payments').findOne({ status: 'CAPTURED' });
        await db('payments')
          .collection('payments')
          .updateOne({ _id: payment!._id }, { $set: { status: 'AUTHORIZED', capturedCents: 0 } });
        await db('orders')
          .collection('orders_view')
          .updateOne({}, { $set: { reason: 'edited by hand' } });
        await db('audit').collection('audit').deleteOne({ seq: 2 });
        await cluster.redis.xadd(
          `${cluster.redisPrefix}events:orders.events.dlq`,
          '*',
          'reason',
          'planted',
          'group',
          'x',
        );
        tampered = await judge(input);
      },
    });
  });

  it('when checkout, inventory, payments, orders and audit are SIGKILLed and Redis and FerretDB restarted during 100 checkouts with payments failing and slow, then every invariant holds', () => {
    expect(result.faults.map((f) => `${f.kind} ${f.target}`)).to.have.members([
      'kill checkout',
      'kill inventory',
      'kill payments',
      'kill orders',
      'kill audit',
      'restart redis',
      'restart ferretdb',
    ]);
    expect(result.checkouts).to.equal(100);
    expect(result.customers).to.equal(100);
    expect(result.verdict.ok, invariantTable(result.verdict.invariants)).to.equal(true);
    expect(result.outcomes.CONFIRMED ?? 0).to.be.greaterThan(50);
  });

  it('when a unit, a capture, a view, an audit record and a dead letter are tampered with afterwards, then exactly their invariants fail', () => {
    const violated = tampered.invariants.filter((i) => !i.holds).map((i) => i.name);
    expect(violated).to.have.members([
      'per product, initial stock = available + reserved + sold, none negative',
      'every CONFIRMED order has exactly one capture of its total',
      'no authorization left open',
      "each order's read model equals the fold of its events",
      'every event is in the audit trail exactly once',
      'the audit chain verifies',
      'no message dead-lettered',
    ]);
  });
});
