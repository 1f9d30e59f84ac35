// Runs MeshMart's services on one machine: each in its own process (real stores; tests and benchmarks), or all in
// this process with one in-process event bus (the embedded default of `make start`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { catalogue, type ServiceEntry, type ServiceName } from '@meshmart/kit/catalogue';

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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ProcessSystemOptions {
  /** @default every service that has a main.ts */
  readonly services?: readonly ServiceName[];
  /** Added to every service's environment (MONGO_URL, REDIS_URL, REDIS_KEY_PREFIX, LOG_LEVEL…). */
  readonly env?: Readonly<Record<string, string>>;
  /** Per service extra environment (e.g. MONGO_DATABASE). */
  readonly serviceEnv?: (service: ServiceName) => Readonly<Record<string, string>>;
  /** Catalogue ports (like `make start`), or free ports (tests, so runs never collide). @default 'free' */
  readonly ports?: 'catalogue' | 'free';
  /** Every line a service prints. @default kept in memory only (see `logs`) */
  readonly onLine?: (service: ServiceName, line: string) => void;
  /**
   * Run the image's bundles from this directory (`npx tsx scripts/build-images.ts --out DIR`: `node DIR/<name>.mjs`,
   * no tsx) instead of the TypeScript sources. @default MESHMART_BUNDLES, else the sources
   */
  readonly bundleDir?: string;
  /** @default READY_TIMEOUT_MS or 180000 (a busy shared 2-CPU machine took two minutes to start eight processes) */
  readonly readyTimeoutMs?: number;
}

export interface ProcessSystem {
  readonly urls: Readonly<Record<string, string>>;
  url(service: ServiceName): string;
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
  const ports = new Map<string, number>();
  for (const s of entries) ports.set(s.name, options.ports === 'catalogue' ? s.port : await freePort());
  const urls: Record<string, string> = {};
  for (const [name, port] of ports) urls[name] = `http://127.0.0.1:${port}`;
  const upstreamEnv: Record<string, string> = {};
  for (const [name, url] of Object.entries(urls)) upstreamEnv[`${name.toUpperCase()}_URL`] = url;

  const bundleDir = options.bundleDir ?? process.env.MESHMART_BUNDLES;
  const children = new Map<string, ChildProcess>();
  const lines = new Map<string, string[]>();
  const exits = new Map<string, Promise<void>>();

  const spawnOne = (s: ServiceEntry): void => {
    const name = s.name as ServiceName;
    // MESHMART_NODE_ARGS adds Node flags to every service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile.
    const extra = process.env.MESHMART_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const entry = bundleDir
      ? [`${bundleDir}/${name}.mjs`]
      : ['--import', 'tsx', `services/${name}/src/main.ts`];
    const child = spawn(process.execPath, [...extra, ...entry], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...upstreamEnv,
        ...options.env,
        ...(options.serviceEnv?.(name) ?? {}),
        PORT: String(ports.get(name)),
        HOST: '127.0.0.1',
      },
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
        throw new Error(`${s.name} exited before it was ready:\n${(lines.get(s.name) ?? []).join('\n')}`);
      }
      try {
        const res = await fetch(`${urls[s.name]}/healthz/ready`);
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
    url: (service) => {
      const url = urls[service];
      if (!url) throw new Error(`${service} is not part of this system`);
      return url;
    },
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
    },
  };
  try {
    for (const s of entries) spawnOne(s);
    await Promise.all(entries.map(waitReady));
  } catch (err) {
    for (const s of entries) await stopOne(s.name, 'SIGKILL');
    throw err;
  }
  return system;
}
