import { expect } from 'chai';
import { until } from '../e2e/support/real-system.ts';
import { testenv } from '../support/testenv.ts';
import {
  checkoutOnce,
  startObservedSystem,
  type CheckoutResult,
  type ObservedSystem,
} from './traces-system.ts';

/** A span as Jaeger's query API (v1, /api/traces) returns it. */
interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly processID: string;
  readonly references: readonly { refType: string; traceID: string; spanID: string }[];
  readonly tags: readonly { key: string; value: unknown }[];
}
interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, { serviceName: string }>>;
}

/** A span with what the assertions read: its service, kind and tags as a map. */
interface Span {
  readonly id: string;
  readonly parent: string | undefined;
  readonly service: string;
  readonly kind: string;
  readonly name: string;
  readonly tags: Readonly<Record<string, unknown>>;
}

function spansOf(t: JaegerTrace): Span[] {
  return t.spans.map((s) => {
    const tags = Object.fromEntries(s.tags.map((x) => [x.key, x.value]));
    return {
      id: s.spanID,
      parent: s.references.find((r) => r.refType === 'CHILD_OF')?.spanID,
      service: t.processes[s.processID]?.serviceName ?? '?',
      kind: typeof tags['span.kind'] === 'string' ? tags['span.kind'] : 'internal',
      name: s.operationName,
      tags,
    };
  });
}

async function jaeger<T>(path: string): Promise<T> {
  const res = await fetch(`${testenv('JAEGER_QUERY_URL')}${path}`);
  if (!res.ok) throw new Error(`Jaeger ${path} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { data: T }).data;
}

/** The spans the trace of one checkout must hold once every asynchronous consumer has run. */
function complete(spans: readonly Span[], entry: CheckoutResult['entry']): boolean {
  const has = (service: string, kind: string, group?: string) =>
    spans.some(
      (s) =>
        s.service === service &&
        s.kind === kind &&
        (group === undefined || s.tags['messaging.consumer.group.name'] === group),
    );
  return (
    has(entry, 'server') &&
    ['checkout', 'inventory', 'payments', 'orders'].every((s) => has(s, 'server')) &&
    has('orders', 'consumer', 'orders-projector') &&
    has('audit', 'consumer', 'audit')
  );
}

/** Spans whose parent is not in the trace: the root, and any span whose parent is lost or not yet exported. */
function orphans(spans: readonly Span[]): number {
  const ids = new Set(spans.map((s) => s.id));
  return spans.filter((s) => s.parent === undefined || !ids.has(s.parent)).length;
}

// Every service in its own process (real Redis and FerretDB), exporting OTLP/HTTP at 100% sampling to a real Jaeger
// built from its Go module (scripts/testenv.d/jaeger.sh); the trace is read back through Jaeger's query API.
describe('traces: one checkout is one trace in Jaeger, across HTTP and the event bus', function () {
  this.timeout(600_000);
  let observed: ObservedSystem;
  let checkout: CheckoutResult;
  let trace: JaegerTrace;
  let spans: Span[];

  before(async () => {
    observed = await startObservedSystem({
      TRACING: 'w3c',
      OTEL_TRACES_SAMPLER_ARG: '1',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: testenv('OTLP_TRACES_URL'),
      LOG_LEVEL: 'debug',
    });
    const since = Date.now() * 1000;
    checkout = await checkoutOnce(observed.system);
    const entryOperation = checkout.entry === 'gateway' ? /^POST \S*checkout$/ : /^POST \/checkouts$/;
    // Spans arrive in batches (every few seconds per process), the consumers' last, and not in causal order: a
    // consumer's span can be in Jaeger before the producer span it is the child of. The trace is read once every
    // expected span is there and no span's parent is still missing; if the deadline passes with parents still
    // missing, the tests below get the last trace read and name the spans cut off.
    let last: JaegerTrace | undefined;
    trace = await until(
      async () => {
        const found = await jaeger<JaegerTrace[]>(
          `/api/traces?service=${checkout.entry}&start=${since}&limit=50&lookback=1h`,
        );
        const mine = found.filter((t) =>
          spansOf(t).some(
            (s) => s.service === checkout.entry && s.kind === 'server' && entryOperation.test(s.name),
          ),
        );
        if (mine.length !== 1) return undefined;
        const [full] = await jaeger<JaegerTrace[]>(`/api/traces/${mine[0].traceID}`);
        if (!full || !complete(spansOf(full), checkout.entry)) return undefined;
        last = full;
        return orphans(spansOf(full)) === 1 ? full : undefined;
      },
      'one checkout trace in Jaeger with every expected span and every parent span',
      120_000,
    ).catch(async (err: unknown) => {
      if (last) return last;
      const services = await jaeger<string[]>('/api/services').catch(() => []);
      throw new Error(`${String(err)}; Jaeger knows the services ${services.join(', ')}`);
    });
    spans = spansOf(trace);
    console.log(
      `      trace ${trace.traceID} (${checkout.entry}, order ${checkout.status}): ${spans.length} spans\n` +
        spans
          .map((s) => `        ${s.service.padEnd(9)} ${s.kind.padEnd(8)} ${s.name}`)
          .sort()
          .join('\n'),
    );
  });
  after(async () => observed?.close());

  it('when a checkout runs, then one trace holds the entry, checkout, inventory, payments and orders server spans', () => {
    expect(checkout.status).to.equal('CONFIRMED');
    const servers = new Set(spans.filter((s) => s.kind === 'server').map((s) => s.service));
    expect([...servers]).to.include.members([checkout.entry, 'checkout', 'inventory', 'payments', 'orders']);
    const ids = new Set(spans.map((s) => s.id));
    // One root: every other span's parent is in the trace (nothing was cut off by a lost context).
    const roots = spans.filter((s) => s.parent === undefined || !ids.has(s.parent));
    expect(
      roots.map((s) => `${s.service} ${s.name}`),
      'spans whose parent is not in the trace',
    ).to.have.length(1);
    expect(roots[0].service).to.equal(checkout.entry);
  });

  it('when the order events are consumed, then the projector and audit consumer spans are children of producer spans', () => {
    const byId = new Map(spans.map((s) => [s.id, s]));
    for (const [service, group] of [
      ['orders', 'orders-projector'],
      ['audit', 'audit'],
    ] as const) {
      const consumers = spans.filter(
        (s) =>
          s.service === service && s.kind === 'consumer' && s.tags['messaging.consumer.group.name'] === group,
      );
      expect(consumers, `${group} consumer spans`).to.not.be.empty;
      for (const c of consumers) {
        const parent = byId.get(c.parent ?? '');
        expect(parent?.kind, `${c.name} (${group}) parent`).to.equal('producer');
        expect(parent?.tags['messaging.message.id']).to.equal(c.tags['messaging.message.id']);
      }
    }
    const published = spans
      .filter((s) => s.kind === 'producer')
      .map((s) => s.tags['messaging.destination.name']);
    expect(published).to.include.members(['orders.events']);
  });

  it('when the services log during the checkout, then request lines carry this trace id and a span id of it', () => {
    const ids = new Set(spans.map((s) => s.id));
    const parsed = observed.lines.map((l) => ({
      service: l.service,
      json: JSON.parse(l.line) as Record<string, unknown>,
    }));
    const requestLines = parsed.filter((l) => l.json.request_id !== undefined);
    expect(requestLines, 'lines logged inside a request').to.not.be.empty;
    for (const l of requestLines) {
      expect(l.json.trace_id, `${l.service}: ${JSON.stringify(l.json)}`).to.match(/^[0-9a-f]{32}$/);
      expect(l.json.span_id, `${l.service}: ${JSON.stringify(l.json)}`).to.match(/^[0-9a-f]{16}$/);
    }
    const inTrace = parsed.filter((l) => l.json.trace_id === trace.traceID);
    expect(inTrace.map((l) => l.json.msg)).to.include('checkout started');
    // The span a line names is a span of the trace: logs and traces join on both ids.
    for (const l of inTrace) expect(ids.has(String(l.json.span_id)), JSON.stringify(l.json)).to.equal(true);
  });
});
