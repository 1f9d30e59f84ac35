import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Metrics } from '@meshmart/kit';
import { testenv } from '../../support/testenv.ts';
import { until } from '../../support/wait.ts';

export interface VersionBehaviour {
  /** Share of requests answered 503. */
  readonly errorRatio: number;
  readonly latencySeconds: number;
}

export interface VersionExporter {
  /** Waits until Prometheus has a request rate for every service, so the first analysis has data. */
  readonly ready: (window: string) => Promise<void>;
  readonly close: () => Promise<void>;
}

/**
 * One kit metrics registry per service, fed with synthetic requests (10 every 100 ms) and served to the test
 * environment's real Prometheus as a file_sd target labelled `version` (what the cluster's scrape config copies from
 * the pod label) and `suite` (keeps concurrent runs apart).
 */
export async function startVersionExporter(
  suite: string,
  version: string,
  services: Readonly<Record<string, VersionBehaviour>>,
): Promise<VersionExporter> {
  const servers: Server[] = [];
  const timers: NodeJS.Timeout[] = [];
  const instances: string[] = [];
  for (const [service, behaviour] of Object.entries(services)) {
    const metrics = new Metrics({ service, processMetrics: false });
    let served = 0;
    timers.push(
      setInterval(() => {
        for (let i = 0; i < 10; i++) {
          served++;
          const failed = served % 100 < behaviour.errorRatio * 100;
          metrics.observeRequest('GET', '/v1/things', failed ? 503 : 200, behaviour.latencySeconds);
        }
      }, 100),
    );
    const server = createServer((req, res) => {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      req.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    instances.push(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  const file = join(testenv('PROMETHEUS_TARGETS_DIR'), `ops-canary-${suite}-${version}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify([{ targets: instances, labels: { suite, version } }]));
  // Renamed into place so Prometheus never reads half a file.
  renameSync(`${file}.tmp`, file);

  const prometheus = testenv('PROMETHEUS_URL');
  return {
    async ready(window) {
      const query = `sum by (service) (rate(http_request_duration_seconds_count{suite="${suite}",version="${version}"}[${window}]))`;
      await until(
        async () => {
          const res = await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({ query }).toString()}`);
          const body = (await res.json()) as { data: { result: { metric: { service: string } }[] } };
          const seen = new Set(body.data.result.map((r) => r.metric.service));
          const missing = Object.keys(services).filter((s) => !seen.has(s));
          if (missing.length > 0) throw new Error(`no rate yet for ${missing.join(', ')}`);
          return true;
        },
        `Prometheus to have a request rate of version ${version} for every service`,
        60_000,
        250,
      );
    },
    async close() {
      rmSync(file, { force: true });
      for (const t of timers) clearInterval(t);
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
