import { randomBytes } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { context } from '@opentelemetry/api';
import {
  bool,
  ConfigError,
  int,
  loadConfig,
  num,
  oneOf,
  optional,
  port,
  secret,
  str,
  url,
  type ConfigOf,
  type ConfigSpec,
} from './config.ts';
import { Health } from './health.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { exitOnSignals, listen, serve, type Closer, type Listener, type RunningServer } from './server.ts';
import { withHostedService } from './hosted-tracing.ts';
import { startTracing } from './tracing.ts';
import type { EventBus } from './events/event-bus.ts';

/** Settings every service has; each service adds its own spec next to these. */
export function kitSettings(defaults: { readonly port: number }) {
  return {
    port: port({ env: 'PORT', default: defaults.port, doc: 'TCP port to listen on' }),
    host: str({
      env: 'HOST',
      default: '127.0.0.1',
      doc: 'interface to listen on: this machine only by default; containers set 0.0.0.0 (the image and manifests do)',
    }),
    logLevel: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      env: 'LOG_LEVEL',
      default: 'info',
      doc: 'lowest log level written',
    }),
    bodyLimitBytes: int({
      env: 'BODY_LIMIT_BYTES',
      default: 102400,
      min: 1,
      doc: 'largest JSON request body accepted',
    }),
    headersTimeoutMs: int({
      env: 'HEADERS_TIMEOUT_MS',
      default: 5000,
      min: 1,
      doc: "time to receive a request's headers from its first byte; slower clients get 408 and are disconnected",
    }),
    requestTimeoutMs: int({
      env: 'REQUEST_TIMEOUT_MS',
      default: 30000,
      min: 1,
      doc: 'time to receive a whole request, body included (not the time to answer it); slower clients get 408',
    }),
    idleTimeoutMs: int({
      env: 'IDLE_TIMEOUT_MS',
      default: 60000,
      min: 1,
      doc: 'a connection with a request open and no byte sent either way for this long is closed; keep it above the slowest handler',
    }),
    slowRequestMs: int({
      env: 'SLOW_REQUEST_MS',
      default: 1000,
      min: 0,
      doc: 'requests slower than this are logged',
    }),
    shutdownGraceMs: int({
      env: 'SHUTDOWN_GRACE_MS',
      default: 20000,
      min: 0,
      doc: 'whole graceful-shutdown budget; keep it under terminationGracePeriodSeconds',
    }),
    shutdownDelayMs: int({
      env: 'SHUTDOWN_DELAY_MS',
      default: 0,
      min: 0,
      doc: 'wait after readiness turns false before closing the listener (5000 in Kubernetes)',
    }),
    tracing: oneOf(['off', 'w3c', 'xray'], {
      env: 'TRACING',
      default: 'w3c',
      doc: 'trace propagation: W3C trace context, or also AWS X-Ray ids and header (EKS)',
    }),
    traceContext: oneOf(['explicit', 'async-local-storage'], {
      env: 'TRACE_CONTEXT',
      default: 'explicit',
      doc: 'trace context passed explicitly by the kit, or also implicit across awaits (AsyncLocalStorage)',
    }),
    otlpEndpoint: optional(
      url({
        env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
        protocols: ['http', 'https'],
        doc: 'OTLP/HTTP traces endpoint',
      }),
    ),
    traceSampleRatio: num({
      env: 'OTEL_TRACES_SAMPLER_ARG',
      default: 0.1,
      min: 0,
      max: 1,
      doc: 'fraction of new traces sampled (a sampled parent is always followed)',
    }),
    processMetrics: bool({ env: 'PROCESS_METRICS', default: true, doc: 'export Node process metrics' }),
    adminToken: optional(
      secret({
        env: 'ADMIN_TOKEN',
        minLength: 32,
        doc: 'credential of the internal /admin/ routes, sent as X-Admin-Token (Secret meshmart-internal, key admin-token); unset: those routes are off',
      }),
    ),
    metricsPort: optional(
      port({
        env: 'METRICS_PORT',
        doc: 'serve /metrics on this port (0: a free one) instead of PORT, which then answers /metrics 404: the public gateway in Kubernetes',
      }),
    ),
  };
}

export type KitConfig = ConfigOf<ReturnType<typeof kitSettings>>;

/**
 * What the process hosting a service shares with it. One process running the whole system (`make start` with no
 * infrastructure) passes one in-process event bus to every service; a service in its own process gets nothing and
 * opens its own (Redis Streams when REDIS_URL is set).
 */
export interface Host {
  readonly bus?: EventBus;
}

export interface Kit<C> {
  readonly config: KitConfig & C;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly host: Host;
}

export interface Built<P = unknown> {
  readonly app: RequestListener;
  /** Adapters to close after the last request, in order (the event bus before the datastores it uses). */
  readonly closers?: readonly Closer[];
  /** What the build made (repositories, domain services), for tests and embedders to look at; the kit never reads it. */
  readonly parts?: P;
}

/**
 * A service as data, its composition root: `build` turns the kit (config, logger, metrics, health, host) into the
 * app and its closers. Its main.ts is `runService(definition)`, the one-process runner hosts many (`hostServices`),
 * tests build it with `buildService`. `overrides` (O) is the service's typed seam for what configuration cannot
 * express (a fake provider, a clock); runService and hostServices never pass it.
 */
export interface ServiceDefinition<S extends ConfigSpec, P = unknown, O = never> {
  readonly service: string;
  readonly version?: string;
  readonly defaultPort: number;
  readonly settings: S;
  /** Builds adapters and the app. Import the app inside it (`await import('./app.ts')`) so tracing starts first. */
  readonly build: (kit: Kit<ConfigOf<S>>, overrides?: O) => Promise<Built<P>>;
}

export interface RunServiceOptions<S extends ConfigSpec, P = unknown, O = never> extends ServiceDefinition<
  S,
  P,
  O
> {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default {} (a process of its own) */
  readonly host?: Host;
}

/** Any service's definition, whatever its settings (for hosts that run several). */
export type AnyServiceDefinition = Omit<ServiceDefinition<ConfigSpec>, 'build'> & {
  readonly build: (kit: never, overrides?: never) => Promise<Built>;
};

/** Identity, for type inference of the settings in `build` (and of its parts and overrides). */
export function defineService<S extends ConfigSpec, P = unknown, O = never>(
  definition: ServiceDefinition<S, P, O>,
): ServiceDefinition<S, P, O> {
  return definition;
}

type Env = Readonly<Record<string, string | undefined>>;
type DefinitionOf<S extends ConfigSpec> = Pick<ServiceDefinition<S>, 'service' | 'defaultPort' | 'settings'>;

/** A service's whole configuration, kit settings included, from `env`; throws ConfigError listing every problem. */
export function loadServiceConfig<S extends ConfigSpec>(
  definition: DefinitionOf<S>,
  env?: Env,
): KitConfig & ConfigOf<S> {
  return loadConfig(
    definition.service,
    { ...kitSettings({ port: definition.defaultPort }), ...definition.settings },
    env,
  );
}

export interface BootOptions<C, O> {
  readonly config: KitConfig & C;
  /** @default {} */
  readonly host?: Host;
  /** @default a JSON logger to stdout at LOG_LEVEL */
  readonly logger?: Logger;
  /** @default config.processMetrics */
  readonly processMetrics?: boolean;
  readonly overrides?: O;
}

export interface BootedService<C, P> {
  readonly kit: Kit<C>;
  readonly built: Built<P>;
}

/**
 * The one boot path of every service, whoever runs it (runService, hostServices, buildService): logger, metrics and
 * health from the config, then the definition's build. Tracing, binding and serving are the runner's.
 */
export async function bootService<S extends ConfigSpec, P, O>(
  definition: ServiceDefinition<S, P, O>,
  options: BootOptions<ConfigOf<S>, O>,
): Promise<BootedService<ConfigOf<S>, P>> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: definition.service, level: config.logLevel });
  const metrics = new Metrics({
    service: definition.service,
    processMetrics: options.processMetrics ?? config.processMetrics,
    exposition: config.metricsPort === undefined ? 'main' : 'separate',
  });
  const kit: Kit<ConfigOf<S>> = { config, logger, metrics, health: new Health(), host: options.host ?? {} };
  const built =
    options.overrides === undefined
      ? await definition.build(kit)
      : await definition.build(kit, options.overrides);
  return { kit, built };
}

/** Serves a booted service on its bound listeners with the kit's timeouts and shutdown settings. */
function serveBooted(
  booted: BootedService<unknown, unknown>,
  listeners: { readonly listener: Listener; readonly metricsListener?: Listener | undefined },
  extra: {
    readonly closers?: readonly Closer[];
    readonly app?: RequestListener;
    readonly inProcess?: boolean;
  } = {},
): Promise<RunningServer> {
  const { kit, built } = booted;
  const { config } = kit;
  return serve({
    app: extra.app ?? built.app,
    listener: listeners.listener,
    logger: kit.logger,
    health: kit.health,
    graceMs: config.shutdownGraceMs,
    delayMs: config.shutdownDelayMs,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    closers: [...(built.closers ?? []), ...(extra.closers ?? [])],
    inProcess: extra.inProcess ?? false,
    ...(listeners.metricsListener
      ? { metricsEndpoint: { listener: listeners.metricsListener, registry: kit.metrics.registry } }
      : {}),
  });
}

/**
 * Everything a main.ts does: config (failing fast with every problem), logger, tracing before the app loads,
 * metrics, health, listen, and graceful shutdown on SIGTERM.
 */
export async function runService<S extends ConfigSpec, P = unknown, O = never>(
  options: RunServiceOptions<S, P, O>,
): Promise<RunningServer> {
  let config: KitConfig & ConfigOf<S>;
  try {
    config = loadServiceConfig(options, options.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `${JSON.stringify({ level: 'fatal', service: options.service, msg: 'invalid configuration', problems: err.problems })}\n`,
      );
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger({ service: options.service, level: config.logLevel });
  const tracing = await startTracing({
    service: options.service,
    mode: config.tracing,
    sampleRatio: config.traceSampleRatio,
    contextManager: config.traceContext,
    logger,
    ...(options.version ? { version: options.version } : {}),
    ...(config.otlpEndpoint ? { endpoint: config.otlpEndpoint } : {}),
  });
  let listener: Listener;
  let metricsListener: Listener | undefined;
  try {
    listener = await bindFor(options.service, config.port, config.host, 'PORT');
    if (config.metricsPort !== undefined)
      metricsListener = await bindFor(options.service, config.metricsPort, config.host, 'METRICS_PORT');
  } catch (err) {
    if (!(err instanceof PortError)) throw err;
    // Like a configuration problem: one line on stderr, written before exiting, and exit 78 (EX_CONFIG).
    const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', service: options.service, code, port: config.port, host: config.host, msg: err.message })}\n`,
    );
    process.exit(78);
  }
  const booted = await bootService(options, { config, logger, host: options.host ?? {} });
  const running = await serveBooted(
    booted,
    { listener, metricsListener },
    { closers: [{ name: 'tracing', close: () => tracing.shutdown() }] },
  );
  logger.info(
    { port: running.port, tracing: tracing.mode, metrics_url: running.metricsUrl },
    `${options.service} listening on ${running.url}`,
  );
  exitOnSignals(running, logger);
  return running;
}

export interface BuildServiceOptions<O> {
  /** The environment the service reads, as its process would. @default {} (defaults: the in-memory twins) */
  readonly env?: Env;
  /** @default {} (a bus of its own) */
  readonly host?: Host;
  /** The service's typed seam (its definition's `O`), for what configuration cannot express. */
  readonly overrides?: O;
  /** @default a JSON logger to stdout at LOG_LEVEL */
  readonly logger?: Logger;
}

export interface BuiltService<C, P> extends Kit<C> {
  readonly app: RequestListener;
  /** The build's parts (its `Built.parts`). */
  readonly parts: P;
  /** Runs the build's closers in order (each even if one before it failed). */
  close(): Promise<void>;
}

/** bootService for buildService and startService: process metrics off, the caller's host, logger and overrides. */
function bootEmbedded<S extends ConfigSpec, P, O>(
  definition: ServiceDefinition<S, P, O>,
  config: KitConfig & ConfigOf<S>,
  options: BuildServiceOptions<O>,
): Promise<BootedService<ConfigOf<S>, P>> {
  return bootService(definition, {
    config,
    processMetrics: false,
    ...(options.host ? { host: options.host } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
  });
}

/**
 * A service built by its definition, exactly as runService builds it, without tracing or a socket: for tests (drive
 * `app` with supertest) and embedding. Process metrics are off (several services may share a process).
 */
export async function buildService<S extends ConfigSpec, P, O = never>(
  definition: ServiceDefinition<S, P, O>,
  options: BuildServiceOptions<O> = {},
): Promise<BuiltService<ConfigOf<S>, P>> {
  const config = loadServiceConfig(definition, options.env ?? {});
  const { kit, built } = await bootEmbedded(definition, config, options);
  let closed: Promise<void> | undefined;
  return {
    ...kit,
    app: built.app,
    parts: built.parts as P,
    close() {
      closed ??= (async () => {
        const failures: unknown[] = [];
        for (const closer of built.closers ?? [])
          await closer.close().catch((err: unknown) => failures.push(err));
        if (failures.length > 0) throw new AggregateError(failures, `closing ${definition.service} failed`);
      })();
      return closed;
    },
  };
}

export interface StartedService<C, P> extends Omit<BuiltService<C, P>, 'close'> {
  readonly running: RunningServer;
  readonly url: string;
  /** Graceful shutdown, as on SIGTERM: drains requests, then the build's closers. */
  close(): Promise<void>;
}

/**
 * A service built by its definition and listening on PORT from `env` (default 0: a free port) on 127.0.0.1, served
 * the way runService serves it (timeouts, /metrics, graceful shutdown), without tracing or signal handling.
 */
export async function startService<S extends ConfigSpec, P, O = never>(
  definition: ServiceDefinition<S, P, O>,
  options: BuildServiceOptions<O> = {},
): Promise<StartedService<ConfigOf<S>, P>> {
  const config = loadServiceConfig(definition, { PORT: '0', ...options.env });
  const listener = await bindFor(definition.service, config.port, config.host, 'PORT');
  const metricsListener =
    config.metricsPort === undefined
      ? undefined
      : await bindFor(definition.service, config.metricsPort, config.host, 'METRICS_PORT');
  let booted: BootedService<ConfigOf<S>, P>;
  try {
    booted = await bootEmbedded(definition, config, options);
  } catch (err) {
    listener.server.close();
    metricsListener?.server.close();
    throw err;
  }
  const running = await serveBooted(booted, { listener, metricsListener });
  return {
    ...booted.kit,
    app: booted.built.app,
    parts: booted.built.parts as P,
    running,
    url: running.url,
    close: () => running.shutdown('stopped'),
  };
}

export interface HostServicesOptions {
  /** Environment every service reads; each gets PORT = `<NAME>_PORT` or its default port. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Shared by every service (an in-process bus when no REDIS_URL). */
  readonly host?: Host;
  /** `service.name` of spans no hosted service claims; each service reports its own spans under its name. @default 'meshmart' */
  readonly processName?: string;
  /**
   * The hosted services call each other in process, handing a request to the target's listener without a socket
   * (`http/in-process.ts`); false sends them over loopback sockets as separate processes would. @default true
   */
  readonly inProcessCalls?: boolean;
}

export interface HostedService {
  readonly service: string;
  readonly running: RunningServer;
}

export interface HostedSystem {
  readonly services: readonly HostedService[];
  /** The ADMIN_TOKEN every hosted service shares: the one given, or one generated at start. */
  readonly adminToken: string;
  /** Shuts the services down in reverse start order (callers before what they call), then telemetry. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Runs several services in this process, each on its own port with its own config, logs, metrics and health, the
 * way `make start` runs the whole system with no infrastructure. Every configuration problem of every service is
 * reported before anything starts (ConfigError). Every port is bound before any service is built: a service asked
 * to listen on port 0 gets a free port from the kernel, and its callers' `<NAME>_URL` is set to that real address
 * (never a port probed and released, which another socket can take in between). Signals are the caller's to handle.
 */
export async function hostServices(
  definitions: readonly AnyServiceDefinition[],
  options: HostServicesOptions = {},
): Promise<HostedSystem> {
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  // One process hosting the services: a token generated here is one they all share (callers and admin routes).
  if (!env.ADMIN_TOKEN) env.ADMIN_TOKEN = randomBytes(32).toString('hex');
  const adminToken = env.ADMIN_TOKEN;
  // PORT and METRICS_PORT are per service (`<NAME>_PORT`, `<NAME>_METRICS_PORT`): one value for all would collide.
  const ownEnv = (def: AnyServiceDefinition) => ({
    ...env,
    PORT: env[`${def.service.toUpperCase()}_PORT`] ?? String(def.defaultPort),
    METRICS_PORT: env[`${def.service.toUpperCase()}_METRICS_PORT`],
  });
  const load = (def: AnyServiceDefinition) => loadServiceConfig(def, ownEnv(def));
  const problems: string[] = [];
  const asked = new Map<string, KitConfig>();
  for (const def of definitions) {
    try {
      asked.set(def.service, load(def));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems.map((p) => `${def.service}: ${p}`));
    }
  }
  const processName = options.processName ?? 'meshmart';
  if (problems.length > 0) throw new ConfigError(processName, problems);

  const listeners = new Map<string, Listener>();
  const metricsListeners = new Map<string, Listener>();
  try {
    for (const def of definitions) {
      const { port, host, metricsPort } = asked.get(def.service)!;
      const name = def.service.toUpperCase();
      listeners.set(def.service, await bindFor(def.service, port, host, `${name}_PORT`));
      if (metricsPort !== undefined)
        metricsListeners.set(
          def.service,
          await bindFor(def.service, metricsPort, host, `${name}_METRICS_PORT`),
        );
    }
  } catch (err) {
    for (const l of [...listeners.values(), ...metricsListeners.values()]) l.server.close();
    throw err;
  }
  for (const def of definitions) {
    const name = def.service.toUpperCase();
    const listener = listeners.get(def.service)!;
    const metricsListener = metricsListeners.get(def.service);
    if (metricsListener) env[`${name}_METRICS_PORT`] = String(metricsListener.port);
    env[`${name}_PORT`] = String(listener.port);
    if (asked.get(def.service)!.port === 0 || env[`${name}_URL`] === undefined)
      env[`${name}_URL`] = listener.url;
  }
  const configs = new Map(definitions.map((def) => [def.service, load(def)]));

  const first = configs.values().next().value;
  const tracing = await startTracing({
    service: processName,
    services: definitions.map((d) => d.service),
    mode: first?.tracing ?? 'off',
    sampleRatio: first?.traceSampleRatio ?? 0,
    contextManager: first?.traceContext ?? 'explicit',
    logger: createLogger({ service: processName, level: first?.logLevel ?? 'info' }),
    ...(first?.otlpEndpoint ? { endpoint: first.otlpEndpoint } : {}),
  });
  const started: HostedService[] = [];
  try {
    for (const def of definitions) {
      const config = configs.get(def.service)!;
      const booted = await bootService(def as unknown as ServiceDefinition<ConfigSpec>, {
        config,
        processMetrics: false,
        host: options.host ?? {},
      });
      const { logger } = booted.kit;
      const running = await serveBooted(
        booted,
        { listener: listeners.get(def.service)!, metricsListener: metricsListeners.get(def.service) },
        {
          // Spans started while this service handles a request are its own (its server spans); see HostedTracerProvider.
          ...(tracing.hosted ? { app: runningAs(def.service, booted.built.app) } : {}),
          inProcess: options.inProcessCalls ?? true,
        },
      );
      logger.info(
        { port: running.port, metrics_url: running.metricsUrl },
        `${def.service} listening on ${running.url}`,
      );
      started.push({ service: def.service, running });
    }
  } catch (err) {
    for (const s of [...started].reverse()) await s.running.shutdown('start failed');
    for (const [service, l] of [...listeners, ...metricsListeners])
      if (!started.some((s) => s.service === service)) l.server.close();
    await tracing.shutdown();
    throw err;
  }
  return {
    services: started,
    adminToken,
    async shutdown(reason: string) {
      for (const s of [...started].reverse()) await s.running.shutdown(reason);
      await tracing.shutdown();
    },
  };
}

function runningAs(service: string, app: RequestListener): RequestListener {
  return (req, res) => context.with(withHostedService(context.active(), service), () => app(req, res));
}

/** Binds a service's port, turning "address in use" into a message that names the service and how to move it. */
async function bindFor(service: string, port: number, host: string, portVariable: string): Promise<Listener> {
  try {
    return await listen(port, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const why =
        code === 'EADDRINUSE'
          ? 'is in use by another program'
          : code === 'EACCES'
            ? 'needs privileges this process lacks'
            : 'is not an address of this machine';
      throw new PortError(
        service,
        `${service} cannot listen on ${host}:${port}: the port ${why}. ` +
          `Stop that program, or move ${service} with ${portVariable}=<port> (0 picks a free one).`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** A service could not bind its port; the message says which service, which port and how to move it. */
export class PortError extends Error {
  override readonly name = 'PortError';
  constructor(
    readonly service: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
