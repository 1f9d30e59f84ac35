// `npx tsx ops/canary.ts --service catalog --version v2 [--namespace meshmart] [--steps 5,10,20,50] [--interval 1m]
// [--prometheus http://127.0.0.1:9090] ...`: progressive delivery by route weights, gated on Prometheus. `--help`
// lists every option; docs/operations.md explains the gates, the state annotation, the metrics and the exit codes.
import { renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CanaryMetrics, checkSteps, DEFAULT_STEPS, runCanary, type CanaryEvent } from './lib/canary.ts';
import { abortOnSignals, err, EXIT, out, parseDuration, parseNumber, UsageError } from './lib/cli.ts';
import { SERVICE_NAMES } from '@meshmart/catalogue';
import { ConnectionError, Kube, KubeconfigError } from './lib/kube.ts';
import { canaryQueries } from './lib/prometheus.ts';
import { BACKENDS, type Backend } from './lib/traffic.ts';

const USAGE = `usage: npx tsx ops/canary.ts --service NAME --version VERSION [options]
  --service, -s NAME        the service (routes: VirtualRouter NAME-router and/or HTTPRoute NAME)
  --version, -v VERSION     the new version; its target is NAME-VERSION
  --namespace, -n NS        (default meshmart)
  --backend B               ${BACKENDS.join(' or ')}; repeat for both (default: every route object that exists)
  --steps LIST              canary weights in percent before promotion (default ${DEFAULT_STEPS.join(',')})
  --interval DURATION       time at each weight before its analysis (default 1m)
  --prometheus URL          Prometheus HTTP API (default $PROMETHEUS_URL or http://127.0.0.1:9090)
  --window DURATION         rate() range of the queries (default 1m)
  --min-success-rate PCT    lowest non-5xx share of the canary's requests (default 99)
  --max-p99 DURATION        highest p99 latency of the canary (default 500ms)
  --max-failed-checks N     failed analyses at one weight before rolling back (default 1)
  --selector MATCHERS       extra PromQL label matchers, e.g. 'namespace="meshmart"'
  --version-label LABEL     label carrying the pod's version in Prometheus (default version)
  --metrics-port PORT       serve the canary's own metrics on 127.0.0.1:PORT/metrics while it runs (0: any port)
  --metrics-file FILE       write them to FILE after every step (node_exporter textfile collector)
  --print-queries           print the PromQL and exit
  --kubeconfig FILE, --context NAME
exit codes: 0 promoted (or already), 1 rolled back, 2 usage, 3 API or Prometheus error (weights left as they are:
run again to resume), 130 interrupted (run again to resume)`;

export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        service: { type: 'string', short: 's' },
        version: { type: 'string', short: 'v' },
        namespace: { type: 'string', short: 'n', default: 'meshmart' },
        backend: { type: 'string', multiple: true },
        steps: { type: 'string', default: DEFAULT_STEPS.join(',') },
        interval: { type: 'string', default: '1m' },
        prometheus: { type: 'string', default: process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090' },
        window: { type: 'string', default: '1m' },
        'min-success-rate': { type: 'string', default: '99' },
        'max-p99': { type: 'string', default: '500ms' },
        'max-failed-checks': { type: 'string', default: '1' },
        selector: { type: 'string' },
        'version-label': { type: 'string', default: 'version' },
        'metrics-port': { type: 'string' },
        'metrics-file': { type: 'string' },
        'print-queries': { type: 'boolean', default: false },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    err(`canary: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    out(USAGE);
    return EXIT.ok;
  }
  let parsed;
  try {
    const { service, version } = values;
    if (!service || !version) throw new UsageError('give --service and --version');
    if (!(SERVICE_NAMES as readonly string[]).includes(service))
      throw new UsageError(
        `--service '${service}' is not a service of the catalogue (services/catalogue/src/catalogue.ts); choose from ${SERVICE_NAMES.join(', ')}`,
      );
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(version))
      throw new UsageError(`--version '${version}' must be a DNS label such as v2`);
    const backends = (values.backend ?? [...BACKENDS]) as Backend[];
    for (const b of backends)
      if (!(BACKENDS as readonly string[]).includes(b))
        throw new UsageError(`--backend '${b}': choose ${BACKENDS.join(' or ')}`);
    const steps = values.steps.split(',').map((s) => parseNumber(s, '--steps', 1, 99));
    try {
      checkSteps(steps);
    } catch (e) {
      throw new UsageError(`--steps: ${(e as Error).message}`);
    }
    parseDuration(values.window, '--window');
    parsed = {
      service,
      version,
      backends,
      steps,
      intervalMs: parseDuration(values.interval, '--interval'),
      minSuccessRate: parseNumber(values['min-success-rate'], '--min-success-rate', 0, 100),
      maxP99Ms: parseDuration(values['max-p99'], '--max-p99'),
      maxFailedChecks: parseNumber(values['max-failed-checks'], '--max-failed-checks', 1, 1000),
      metricsPort:
        values['metrics-port'] === undefined
          ? undefined
          : parseNumber(values['metrics-port'], '--metrics-port', 0, 65535),
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`canary: ${e.message}\n${USAGE}`);
    return EXIT.usage;
  }
  const queryOptions = {
    service: parsed.service,
    version: parsed.version,
    window: values.window,
    versionLabel: values['version-label'],
    ...(values.selector ? { selector: values.selector } : {}),
  };
  if (values['print-queries']) {
    for (const [name, q] of Object.entries(canaryQueries(queryOptions))) out(`${name}: ${q}`);
    return EXIT.ok;
  }

  let kube: Kube;
  try {
    kube = new Kube({
      ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
      ...(values.context ? { context: values.context } : {}),
    });
    await kube.check();
  } catch (e) {
    if (!(e instanceof KubeconfigError) && !(e instanceof ConnectionError)) throw e;
    err(`canary: ${e.message}`);
    err('canary: nothing was changed');
    return e instanceof KubeconfigError ? EXIT.usage : EXIT.incomplete;
  }
  const metrics = new CanaryMetrics({
    namespace: values.namespace,
    service: parsed.service,
    version: parsed.version,
  });
  const file = values['metrics-file'];
  const writeMetrics = async (): Promise<void> => {
    if (!file) return;
    writeFileSync(`${file}.tmp`, await metrics.registry.metrics());
    renameSync(`${file}.tmp`, file);
  };
  let server: Server | undefined;
  if (parsed.metricsPort !== undefined) {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
    await new Promise<void>((resolve) => server!.listen(parsed.metricsPort, '127.0.0.1', resolve));
    out(`canary: metrics on http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
  }

  const tag = `canary ${values.namespace}/${parsed.service} ${parsed.version}`;
  const log = (event: CanaryEvent): void => {
    const at = new Date().toISOString();
    switch (event.type) {
      case 'start':
        out(
          `${at} ${tag}: stable ${event.stable}; ${event.split}; steps ${event.schedule.join(', ')}% then 100%${event.resumedFrom !== undefined ? ` (resuming from ${event.resumedFrom}%)` : ''}`,
        );
        break;
      case 'weight':
        out(
          `${at} ${tag}: weight ${event.weight}% on ${event.targets.join(', ')}; analysis in ${values.interval}`,
        );
        break;
      case 'check': {
        const m = event.measurement;
        const numbers = `${m.requestsPerSecond === undefined ? 'no requests' : `${m.requestsPerSecond.toFixed(2)} req/s`}, success ${m.successRate === undefined ? '-' : `${m.successRate.toFixed(2)}%`}, p99 ${m.p99Ms === undefined ? '-' : `${m.p99Ms.toFixed(0)} ms`}`;
        out(
          `${at} ${tag}: at ${event.weight}%: ${numbers}: ${event.gate.passed ? 'passed' : `FAILED (${event.gate.failures.join('; ')}) ${event.failedChecks}/${parsed.maxFailedChecks}`}`,
        );
        break;
      }
      case 'promoted':
        out(`${at} ${tag}: promoted to 100%`);
        break;
      case 'rolled-back':
        out(`${at} ${tag}: ROLLED BACK to 0% ${event.reason}`);
        break;
      case 'interrupted':
        out(`${at} ${tag}: interrupted at ${event.weight}%; run the same command again to resume`);
        break;
    }
    writeMetrics().catch((e: unknown) => err(`canary: cannot write ${file}: ${String(e)}`));
  };

  const controller = abortOnSignals();
  try {
    const result = await runCanary({
      kube,
      namespace: values.namespace,
      ...queryOptions,
      ...parsed,
      prometheusUrl: values.prometheus,
      metrics,
      onEvent: log,
      signal: controller.signal,
    });
    await writeMetrics();
    out(`${tag}: ${result.message}`);
    return result.outcome === 'rolled-back'
      ? EXIT.failed
      : result.outcome === 'interrupted'
        ? EXIT.interrupted
        : EXIT.ok;
  } catch (e) {
    err(
      `${tag}: ${e instanceof Error ? e.message : String(e)}; weights left as they are, run again to resume`,
    );
    return EXIT.incomplete;
  } finally {
    server?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Exits explicitly: the HTTP agent's keep-alive sockets would hold the process open for a while.
  process.exit(await main(process.argv.slice(2)));
}
