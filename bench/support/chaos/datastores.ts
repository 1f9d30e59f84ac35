// Redis and FerretDB of the chaos run's own, on ports of their own, so the run can kill and restart them without
// touching the test environment's servers that other tests and engineers use. FerretDB is the test environment's
// binary (the patched build scripts/testenv.sh runs) on the test environment's PostgreSQL; Redis is redis-server with
// an append-only file fsynced before every acknowledgement.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { assignPort, releasePort, ROOT } from '../../../scripts/system.ts';
import { until } from '../../../test/support/wait.ts';

/**
 * How Redis makes a write durable before acknowledging it. `always`: the AOF is fsynced before the reply, so a crash of
 * the process or of the machine loses no acknowledged write. `everysec`: written before the reply (a process crash
 * loses nothing) but fsynced once a second, so a machine crash can lose up to a second.
 */
export type AppendFsync = 'always' | 'everysec';

export interface Datastore {
  readonly name: 'redis' | 'ferretdb';
  readonly url: string;
  readonly port: number;
  pid(): number | undefined;
  /** SIGKILL (a crash: no shutdown work), then the same command on the same port; resolves when it answers again. */
  restart(options?: { downMs?: number }): Promise<{ downMs: number }>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

class Child {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly lines: string[] = [];

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
  ) {}

  spawn(): void {
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => {
        this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        this.lines.splice(0, Math.max(0, this.lines.length - 50));
      });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child?.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }

  output(): string {
    return this.lines.join('\n');
  }
}

async function answered(probe: () => Promise<boolean>, what: string, child: Child): Promise<void> {
  try {
    await until(async () => ((await probe()) ? true : undefined), what, 60_000, 50);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${child.output()}`, { cause: err });
  }
}

export interface PrivateRedisOptions {
  /** @default 'always' */
  readonly appendFsync?: AppendFsync;
}

/** A redis-server with AOF on, persistence by RDB snapshots off (the AOF is the durable copy). */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<Datastore> {
  if (spawnSync('redis-server', ['--version']).error)
    throw new Error(
      'redis-server is not installed: make testenv-up installs it (apt-get install redis-server)',
    );
  const dir = mkdtempSync(join(tmpdir(), 'meshmart-chaos-redis-'));
  const port = assignPort();
  const child = new Child('redis', 'redis-server', [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    options.appendFsync ?? 'always',
    '--loglevel',
    'warning',
  ]);
  const url = `redis://127.0.0.1:${port}`;
  const ping = async (): Promise<boolean> => {
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // LOADING (an error) until the AOF has been replayed.
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };
  child.spawn();
  await answered(ping, `the chaos run's redis-server on ${url}`, child);
  return {
    name: 'redis',
    url,
    port,
    pid: () => child.pid,
    async restart({ downMs = 0 } = {}) {
      const t0 = performance.now();
      await child.kill('SIGKILL');
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      child.spawn();
      await answered(ping, `redis-server on ${url} after its restart`, child);
      return { downMs: performance.now() - t0 };
    },
    async close() {
      await child.kill('SIGTERM');
      releasePort(port);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The FerretDB binary and PostgreSQL URL of the test environment's running FerretDB (read from /proc). */
export function testFerretDb(): { bin: string; postgresUrl: string } {
  const pidFile = join(ROOT, '.testenv/run/ferretdb.pid');
  const missing = (why: string) =>
    new Error(
      `the chaos run uses the test environment's FerretDB build and PostgreSQL: ${why}; run make testenv-up`,
    );
  if (!existsSync(pidFile)) throw missing(`${pidFile} is missing`);
  const pid = readFileSync(pidFile, 'utf8').split('\n')[0].trim();
  let bin: string;
  let args: string[];
  try {
    bin = readlinkSync(`/proc/${pid}/exe`);
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    throw missing(`its FerretDB (pid ${pid}) is not running`);
  }
  const postgresUrl = args.find((a) => a.startsWith('--postgresql-url='))?.slice('--postgresql-url='.length);
  if (!postgresUrl)
    throw missing('its FerretDB runs on SQLite (TESTENV_FERRETDB_BACKEND=sqlite), not PostgreSQL');
  return { bin, postgresUrl };
}

/** A FerretDB process of its own on the test environment's PostgreSQL: its databases are the run's alone. */
export async function startPrivateFerretDb(): Promise<Datastore> {
  const { bin, postgresUrl } = testFerretDb();
  const state = mkdtempSync(join(tmpdir(), 'meshmart-chaos-ferretdb-'));
  const port = assignPort();
  const child = new Child('ferretdb', bin, [
    `--listen-addr=127.0.0.1:${port}`,
    '--handler=postgresql',
    `--postgresql-url=${postgresUrl}`,
    `--state-dir=${state}`,
    '--telemetry=disable',
    '--debug-addr=-',
    '--log-level=error',
  ]);
  const url = `mongodb://127.0.0.1:${port}/`;
  const ping = async (): Promise<boolean> => {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.db('admin').command({ ping: 1 });
      return true;
    } catch {
      return false;
    } finally {
      await client.close().catch(() => undefined);
    }
  };
  child.spawn();
  await answered(ping, `the chaos run's FerretDB on ${url}`, child);
  return {
    name: 'ferretdb',
    url,
    port,
    pid: () => child.pid,
    async restart({ downMs = 0 } = {}) {
      const t0 = performance.now();
      await child.kill('SIGKILL');
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      child.spawn();
      await answered(ping, `FerretDB on ${url} after its restart`, child);
      return { downMs: performance.now() - t0 };
    },
    async close() {
      await child.kill('SIGTERM');
      releasePort(port);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
