import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Health } from './health.ts';
import { registerInProcess } from './http/in-process.ts';
import type { Logger } from './logger.ts';

/** Something to close after the last request has drained: telemetry, the event bus, datastores. */
export interface Closer {
  readonly name: string;
  close(): Promise<void>;
}

/** A socket already listening, whose requests go nowhere until `serve` takes it over. */
export interface Listener {
  readonly server: Server;
  /** The port the kernel really gave (the one asked for, or a free one for 0). */
  readonly port: number;
  readonly url: string;
}

/**
 * Binds `port` (0: a free one) before the app exists, so the real address can be handed to other services first.
 * Requests that arrive before `serve` takes the listener over get 503 with Retry-After.
 */
export async function listen(port: number, host = '127.0.0.1'): Promise<Listener> {
  // Node checks the headers and request deadlines on this interval (30 s by default, which stretched a 5 s deadline).
  const server = createServer({ connectionsCheckingInterval: 1000 }, (_req, res) => {
    res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ type: 'about:blank', title: 'Starting', status: 503 }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { server, port: actual, url: `http://${shown}:${actual}` };
}

export interface ServeOptions {
  readonly app: RequestListener;
  /** Where to listen (0: a free port), unless `listener` is given. */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** A socket bound earlier by `listen`; `port` and `host` are then ignored. */
  readonly listener?: Listener;
  readonly logger: Logger;
  readonly health: Health;
  /** The whole shutdown budget; keep it under the pod's terminationGracePeriodSeconds. @default 20000 */
  readonly graceMs?: number;
  /** Time between readiness turning false and the listener closing, for endpoints to drop the pod. @default 0 */
  readonly delayMs?: number;
  /** Closed in order once requests have drained. */
  readonly closers?: readonly Closer[];
  /** Must exceed the load balancer's idle timeout so it never reuses a socket we are closing. @default 65000 */
  readonly keepAliveTimeoutMs?: number;
  /** Time to receive a request's headers, from its first byte (slow-header clients). @default 5000 */
  readonly headersTimeoutMs?: number;
  /** Time to receive a whole request, body included (slow-body clients); never the time to answer. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** A connection with a request open and no byte either way for this long is closed. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** A listener of its own for GET /metrics (METRICS_PORT), answering nothing else; closed last. */
  readonly metricsEndpoint?: { readonly listener: Listener; readonly registry: Registry };
  /**
   * Serve this process's own HTTP clients of this URL without a socket (`http/in-process.ts`), until shutdown starts
   * draining or the server closes; for services hosted together in one process. @default false
   */
  readonly inProcess?: boolean;
}

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Where /metrics is scraped: `<url>/metrics`, or the metrics listener's. */
  readonly metricsUrl: string;
  /** Graceful shutdown; calling it again returns the same promise. */
  shutdown(reason?: string): Promise<void>;
}

/**
 * Listens, and shuts down in the order that loses no request: readiness false, wait, stop accepting, let in-flight
 * requests finish (answering them with `Connection: close`), then close telemetry and adapters — within graceMs.
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { logger, health } = options;
  const graceMs = options.graceMs ?? 20000;
  const active = new Set<ServerResponse>();
  let draining = false;

  const { server, port, url } = options.listener ?? (await listen(options.port ?? 0, options.host));
  server.removeAllListeners('request');
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    active.add(res);
    res.once('close', () => active.delete(res));
    if (draining) res.setHeader('connection', 'close');
    options.app(req, res);
  };
  server.on('request', onRequest);
  const stopInProcess = options.inProcess ? registerInProcess(url, onRequest) : undefined;
  // However the server ends (a shutdown, or closed by its owner), its port's calls stop coming here.
  if (stopInProcess) server.once('close', stopInProcess);
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65000;
  // Node (18+) starts the headers deadline at a request's first byte, so an idle keep-alive socket is not cut by it.
  server.requestTimeout = options.requestTimeoutMs ?? 30000;
  server.headersTimeout = Math.min(options.headersTimeoutMs ?? 5000, server.requestTimeout);
  server.timeout = options.idleTimeoutMs ?? 60000;
  const metricsServer = options.metricsEndpoint ? serveMetrics(options.metricsEndpoint, logger) : undefined;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = async (reason: string): Promise<void> => {
    const deadline = performance.now() + graceMs;
    logger.info({ reason, in_flight: active.size }, 'shutting down');
    health.markShuttingDown();
    if (options.delayMs) await sleep(Math.min(options.delayMs, graceMs));

    draining = true;
    // Callers in this process go over the network from now on, and find it closed like everyone else.
    stopInProcess?.();
    for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    while (active.size > 0 && performance.now() < deadline) {
      await sleep(25);
      server.closeIdleConnections();
    }
    if (active.size > 0)
      logger.warn({ in_flight: active.size }, 'grace period over; closing remaining connections');
    server.closeAllConnections();
    await closed;
    if (metricsServer) {
      const stopped = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      metricsServer.closeAllConnections();
      await stopped;
    }

    for (const closer of options.closers ?? []) {
      const left = Math.max(deadline - performance.now(), 100);
      try {
        await Promise.race([
          closer.close(),
          sleep(left, undefined, { ref: false }).then(() => {
            throw new Error(`did not close within ${left} ms`);
          }),
        ]);
      } catch (err) {
        logger.warn({ err, closer: closer.name }, 'closing failed');
      }
    }
    logger.info({ took_ms: graceMs - (deadline - performance.now()) }, 'shut down');
  };

  return {
    server,
    port,
    url,
    metricsUrl: `${options.metricsEndpoint?.listener.url ?? url}/metrics`,
    shutdown: (reason = 'requested') => (shuttingDown ??= shutdown(reason)),
  };
}

/** GET /metrics on a listener of its own: a public service's scrape endpoint never shares its public port. */
function serveMetrics(endpoint: { listener: Listener; registry: Registry }, logger: Logger): Server {
  const { server } = endpoint.listener;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
      endpoint.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': endpoint.registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          logger.error({ err }, 'metrics endpoint failed');
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"status":"error"}');
        },
      );
      return;
    }
    const problem = JSON.stringify({
      type: '/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail: 'this port serves GET /metrics only',
    });
    res.writeHead(404, { 'content-type': 'application/problem+json' }).end(problem);
  });
  server.headersTimeout = 5000;
  server.requestTimeout = 10000;
  return server;
}

/**
 * For main.ts: on SIGTERM or SIGINT, shut down gracefully, flush the logs and exit 0 (1 if shutdown failed).
 * The only place that exits the process.
 */
export function exitOnSignals(running: RunningServer, logger: Logger): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    running.shutdown(signal).then(
      () => logger.flush(() => process.exit(0)),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush(() => process.exit(1));
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
