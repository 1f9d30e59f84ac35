// Runs MeshMart's services on one machine: each in its own process (real stores; tests and benchmarks), or all in
// this process with one in-process event bus (the embedded default of `make start`).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { catalogue, type ServiceEntry, type ServiceName } from '@meshmart/catalogue';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What `make start` prints once the whole system is up (tests wait for it). */
export const READY_BANNER = 'MeshMart is up';

/** Services that have a main.ts, callees before callers (so a caller's first request finds its upstream up). */
export function runnableServices(only?: readonly ServiceName[]): ServiceEntry[] {
  const present = catalogue.filter(
    (s) =>
      existsSync(`${ROOT}services/${s.name}/src/main.ts`) && (!only || only.includes(s.name as ServiceName)),
  );
  const ordered: ServiceEntry[] = [];
  const visit = (s: ServiceEntry): void => {
    if (ordered.includes(s)) return;
    for (const dep of s.dependsOn) {
      const d = present.find((p) => p.name === dep);
      if (d) visit(d);
    }
    ordered.push(s);
  };
  present.forEach(visit);
  return ordered;
}

/**
 * Ports for services started in processes of their own. They come from below the kernel's ephemeral range, which
 * outgoing connections (Redis, fetch, scrapes) never take, so a port stays ours between start and restart; the child
 * binds it for real and a clash with another listener is retried with other ports. Never probed and released.
 */
const handedOut = new Set<number>();
const PORT_RANGE_LOW = 20000;

function ephemeralLow(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    if (Number.isInteger(first) && first > PORT_RANGE_LOW + 1000) return Math.min(first, 32768);
  } catch {
    // not Linux: stay below IANA's dynamic range and the usual Linux one
  }
  return 32768;
}

export function assignPort(): number {
  const high = ephemeralLow() - 1;
  for (let i = 0; i < 1000; i++) {
    const port = PORT_RANGE_LOW + Math.floor(Math.random() * (high - PORT_RANGE_LOW + 1));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no port left between ${PORT_RANGE_LOW} and ${high} for a service`);
}

export function releasePort(port: number): void {
  handedOut.delete(port);
}

export interface ProcessSystemOptions {
  /** @default every service that has a main.ts */
  readonly services?: readonly ServiceName[];
  /** Added to every service's environment (MONGO_URL, REDIS_URL, REDIS_KEY_PREFIX, LOG_LEVEL…). */
  readonly env?: Readonly<Record<string, string>>;
  /** Per service extra environment (e.g. MONGO_DATABASE). */
  readonly serviceEnv?: (service: ServiceName) => Readonly<Record<string, string>>;
  /**
   * Catalogue ports (like `make start`), ports assigned from below the ephemeral range, retried with others if
   * one is taken (tests, so runs never collide), or a port per service (others keep the catalogue's). @default 'free'
   */
  readonly ports?: 'catalogue' | 'free' | Readonly<Partial<Record<ServiceName, number>>>;
  /** Every line a service prints. @default kept in memory only (see `logs`) */
  readonly onLine?: (service: ServiceName, line: string) => void;
  /**
   * Run the image's bundles from this directory (`npx tsx scripts/build-images.ts --out DIR`: `node DIR/<name>.mjs`,
   * no tsx) instead of the TypeScript sources. @default MESHMART_BUNDLES, else the sources
   */
  readonly bundleDir?: string;
  /** Where free ports come from. @default assignPort (below the ephemeral range) */
  readonly assignPort?: () => number;
  /** @default READY_TIMEOUT_MS or 180000 (a busy shared 2-CPU machine took two minutes to start eight processes) */
  readonly readyTimeoutMs?: number;
}

export interface ProcessSystem {
  readonly urls: Readonly<Record<string, string>>;
  url(service: ServiceName): string;
  /** Where a service's /metrics is: `<url>/metrics`, or its own port's when its environment sets METRICS_PORT. */
  metricsUrl(service: ServiceName): string;
  /** The ADMIN_TOKEN every service got (`env.ADMIN_TOKEN`, or one generated at start): send it as X-Admin-Token. */
  readonly adminToken: string;
  /** The last lines each service printed (for failure messages). */
  logs(service: ServiceName): readonly string[];
  /** Process id of a running service (to read its memory from /proc); undefined when it is not running. */
  pid(service: ServiceName): number | undefined;
  /** SIGKILL: a crash, no graceful shutdown. */
  kill(service: ServiceName): Promise<void>;
  /** Starts a stopped or killed service again with the same port and environment, and waits until ready. */
  start(service: ServiceName): Promise<void>;
  /** SIGTERM to all, callers first; waits for every exit. */
  stop(): Promise<void>;
}

export async function startProcesses(options: ProcessSystemOptions = {}): Promise<ProcessSystem> {
  const entries = runnableServices(options.services);
  const free = options.ports === undefined || options.ports === 'free';
  const given = typeof options.ports === 'object' ? options.ports : {};
  const ports = new Map<string, number>();
  const urls: Record<string, string> = {};
  const upstreamEnv: Record<string, string> = {};
  const assign = (): void => {
    for (const port of ports.values()) if (free) releasePort(port);
    for (const s of entries)
      ports.set(
        s.name,
        free ? (options.assignPort ?? assignPort)() : (given[s.name as ServiceName] ?? s.port),
      );
    for (const [name, port] of ports) {
      urls[name] = `http://127.0.0.1:${port}`;
      upstreamEnv[`${name.toUpperCase()}_URL`] = urls[name];
    }
  };

  // The services' internal /admin/ routes need a credential of their own; a local run makes one they all share.
  const adminToken = options.env?.ADMIN_TOKEN ?? process.env.ADMIN_TOKEN ?? randomBytes(32).toString('hex');
  const bundleDir = options.bundleDir ?? process.env.MESHMART_BUNDLES;
  const children = new Map<string, ChildProcess>();
  const lines = new Map<string, string[]>();
  const exits = new Map<string, Promise<void>>();
  /** The metrics listener a service reported at start (METRICS_PORT moves /metrics off its port). */
  const metricsUrls = new Map<string, string>();

  const spawnOne = (s: ServiceEntry): void => {
    const name = s.name as ServiceName;
    // MESHMART_NODE_ARGS adds Node flags to every service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile.
    const extra = process.env.MESHMART_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const entry = bundleDir
      ? [`${bundleDir}/${name}.mjs`]
      : ['--import', 'tsx', `services/${name}/src/main.ts`];
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...upstreamEnv,
      ADMIN_TOKEN: adminToken,
      ...options.env,
      ...(options.serviceEnv?.(name) ?? {}),
      PORT: String(ports.get(name)),
      HOST: '127.0.0.1',
    };
    // A fixed METRICS_PORT is known now; with 0 the service reports the port it got (metrics_url) when it listens.
    metricsUrls.delete(name);
    if (env.METRICS_PORT && env.METRICS_PORT !== '0')
      metricsUrls.set(name, `http://127.0.0.1:${env.METRICS_PORT}/metrics`);
    const child = spawn(process.execPath, [...extra, ...entry], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const kept = lines.get(name) ?? [];
    lines.set(name, kept);
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.on('data', (chunk: Buffer) => {
        const split = (rest + chunk.toString('utf8')).split('\n');
        rest = split.pop() ?? '';
        for (const line of split) {
          if (!line) continue;
          if (line.includes('"metrics_url"')) {
            try {
              const reported = (JSON.parse(line) as { metrics_url?: unknown }).metrics_url;
              if (typeof reported === 'string') metricsUrls.set(name, reported);
            } catch {
              // not a log line of the kit's
            }
          }
          kept.push(line);
          if (kept.length > 200) kept.shift();
          options.onLine?.(name, line);
        }
      });
    }
    exits.set(
      name,
      new Promise((resolve) =>
        child.once('exit', () => {
          children.delete(name);
          resolve();
        }),
      ),
    );
    children.set(name, child);
  };

  const waitReady = async (s: ServiceEntry): Promise<void> => {
    const deadline = Date.now() + (options.readyTimeoutMs ?? Number(process.env.READY_TIMEOUT_MS ?? 180000));
    for (;;) {
      if (!children.has(s.name)) {
        await exits.get(s.name); // every line it printed has been read
        throw new ServiceExitedError(s.name, lines.get(s.name) ?? []);
      }
      try {
        // Bounded: until the service has bound its port, something else may be listening there and never answer.
        const res = await fetch(`${urls[s.name]}/healthz/ready`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`${s.name} not ready in time:\n${(lines.get(s.name) ?? []).slice(-20).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stopOne = async (name: string, signal: NodeJS.Signals): Promise<void> => {
    const child = children.get(name);
    if (!child) return;
    child.kill(signal);
    await exits.get(name);
  };

  const system: ProcessSystem = {
    urls,
    adminToken,
    url: (service) => {
      const url = urls[service];
      if (!url) throw new Error(`${service} is not part of this system`);
      return url;
    },
    metricsUrl: (service) => metricsUrls.get(service) ?? `${system.url(service)}/metrics`,
    logs: (service) => lines.get(service) ?? [],
    pid: (service) => children.get(service)?.pid,
    kill: (service) => stopOne(service, 'SIGKILL'),
    async start(service) {
      const s = entries.find((e) => e.name === service);
      if (!s) throw new Error(`${service} is not part of this system`);
      if (children.has(service)) return;
      spawnOne(s);
      await waitReady(s);
    },
    async stop() {
      for (const s of [...entries].reverse()) await stopOne(s.name, 'SIGTERM');
      if (free) for (const port of ports.values()) releasePort(port);
    },
  };
  // Another program may listen on an assigned port: then every service starts again on other ports, so that no
  // caller keeps the URL of a port that is not its upstream's.
  for (let attempt = 1; ; attempt++) {
    assign();
    try {
      for (const s of entries) spawnOne(s);
      await Promise.all(entries.map(waitReady));
      return system;
    } catch (err) {
      for (const s of entries) await stopOne(s.name, 'SIGKILL');
      const clash = err instanceof ServiceExitedError && err.portInUse;
      if (!clash || !free || attempt >= 5) {
        if (free) for (const port of ports.values()) releasePort(port);
        throw err;
      }
      lines.clear();
    }
  }
}

/** A service process ended before it was ready; `portInUse` when it could not bind its port. */
export class ServiceExitedError extends Error {
  readonly portInUse: boolean;
  constructor(
    readonly service: string,
    readonly lines: readonly string[],
  ) {
    super(`${service} exited before it was ready:\n${lines.join('\n')}`);
    this.portInUse = lines.some((l) => l.includes('EADDRINUSE'));
  }
}
