// The test environment's MongoDB stand-in, FerretDB 1.24, on its two backends side by side in one run: SQLite (a
// file per database, in the FerretDB process) and PostgreSQL (the test environment's server). The same operations the
// services issue, against a collection of 2,000 and then 10,000 documents, alternating backends: throughput with one
// and with eight clients, and the CPU each operation costs FerretDB (and PostgreSQL) — the figures behind the
// choice of PostgreSQL in scripts/testenv.sh. Needs `make testenv-up` (FerretDB's build and PostgreSQL).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Collection, type Document } from 'mongodb';
import { assignPort, releasePort } from '../scripts/system.ts';
import { testenv } from '../test/support/testenv.ts';
import { until } from '../test/support/wait.ts';
import { cpuMsWithChildren, testServerPids } from './support/processes.ts';

/** The test environment's FerretDB build (scripts/testenv.sh writes where it is). */
const FERRETDB = (): string => testenv('FERRETDB_BIN');
const PG_PORT = Number(process.env.TESTENV_POSTGRES_PORT ?? 15432);
const SIZES = (process.env.BENCH_STORE_SIZES ?? '2000,10000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_STORE_SECONDS ?? 3);

type Backend = 'sqlite' | 'postgresql';

interface Server {
  readonly backend: Backend;
  readonly url: string;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

async function startFerretDb(backend: Backend): Promise<Server> {
  if (!existsSync(FERRETDB()))
    throw new Error(`${FERRETDB()} is missing: run make testenv-up (it builds FerretDB)`);
  const state = mkdtempSync(join(tmpdir(), `meshmart-store-${backend}-`));
  const port = assignPort();
  const storage =
    backend === 'sqlite'
      ? ['--handler=sqlite', `--sqlite-url=file:${state}/?_pragma=synchronous(normal)`]
      : ['--handler=postgresql', `--postgresql-url=postgres://postgres@127.0.0.1:${PG_PORT}/ferretdb`];
  const child = spawn(
    FERRETDB(),
    [
      `--listen-addr=127.0.0.1:${port}`,
      ...storage,
      `--state-dir=${state}`,
      '--telemetry=disable',
      '--debug-addr=-',
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  const url = `mongodb://127.0.0.1:${port}/`;
  await until(async () => {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 500 });
    try {
      await client.db('admin').command({ ping: 1 });
      return true;
    } catch {
      return undefined;
    } finally {
      await client.close();
    }
  }, `FerretDB (${backend}) to answer on ${url}`);
  return {
    backend,
    url,
    child,
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      releasePort(port);
      rmSync(state, { recursive: true, force: true });
    },
  };
}

interface Operation {
  readonly name: string;
  readonly run: (coll: Collection<Document>, k: number, size: number) => Promise<unknown>;
}

/** What the services send, by shape: lookups by _id, by an indexed field, conditional updates, sorted heads, inserts. */
const OPERATIONS: readonly Operation[] = [
  { name: 'find by _id', run: (c, k, n) => c.findOne({ _id: `d${k % n}` as never }) },
  { name: 'find by an indexed field', run: (c, k, n) => c.findOne({ seq: k % n }) },
  {
    name: 'conditional update {_id, field}',
    run: (c, k, n) => c.updateOne({ _id: `d${k % n}` as never, owner: 'a' }, { $set: { n: k } }),
  },
  {
    name: 'latest of a key (sort, limit 1)',
    run: (c, k) =>
      c
        .find({ key: `k${k % 100}` })
        .sort({ seq: -1 })
        .limit(1)
        .toArray(),
  },
  {
    name: 'insert',
    run: (c, k) => c.insertOne({ _id: `i${k}-${Math.random()}` as never, seq: -1 - k - Math.random() }),
  },
];

async function load(coll: Collection<Document>, size: number): Promise<void> {
  await coll.createIndex({ seq: 1 }, { unique: true });
  await coll.createIndex({ key: 1, seq: -1 });
  for (let i = 0; i < size; i += 1000) {
    await coll.insertMany(
      Array.from({ length: Math.min(1000, size - i) }, (_, j) => ({
        _id: `d${i + j}` as never,
        seq: i + j,
        key: `k${(i + j) % 100}`,
        owner: 'a',
        body: { note: 'x'.repeat(200), items: [1, 2, 3] },
      })),
    );
  }
}

interface Figure {
  readonly backend: Backend;
  readonly size: number;
  readonly operation: string;
  readonly clients: number;
  readonly ops_per_second: number;
  /** FerretDB's CPU, plus PostgreSQL's for that backend, per operation. */
  readonly server_cpu_us_per_op: number;
}

async function measure(
  server: Server,
  coll: Collection<Document>,
  size: number,
  op: Operation,
  clients: number,
): Promise<Figure> {
  const pids: (number | undefined)[] = [server.child.pid];
  if (server.backend === 'postgresql') pids.push(testServerPids().postgres);
  const cpu = (): number => pids.reduce<number>((n, pid) => n + cpuMsWithChildren(pid), 0);
  let k = 0;
  const cpu0 = cpu();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) await op.run(coll, k++, size);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    backend: server.backend,
    size,
    operation: op.name,
    clients,
    ops_per_second: Math.round(k / seconds),
    server_cpu_us_per_op: Math.round(((cpu() - cpu0) * 1000) / Math.max(k, 1)),
  };
}

export async function testStore(): Promise<Record<string, unknown>> {
  const servers = [await startFerretDb('sqlite'), await startFerretDb('postgresql')];
  const figures: Figure[] = [];
  try {
    for (const size of SIZES) {
      const opened = await Promise.all(
        servers.map(async (server) => {
          const client = new MongoClient(server.url, { maxPoolSize: 16 });
          const db = client.db(`bench_store_${size}_${process.pid}`);
          await db.dropDatabase();
          await load(db.collection('docs'), size);
          return { server, client, db, coll: db.collection('docs') };
        }),
      );
      try {
        for (const op of OPERATIONS) {
          for (const clients of [1, 8]) {
            // Alternating backends, operation by operation, so drift on a shared machine hits both alike.
            for (const { server, coll } of opened) {
              figures.push(await measure(server, coll, size, op, clients));
              process.stderr.write(
                `  ${server.backend.padEnd(10)} ${String(size).padStart(6)} docs  ${op.name.padEnd(32)} ${clients} client(s)  ${figures.at(-1)!.ops_per_second}/s\n`,
              );
            }
          }
        }
      } finally {
        for (const { db, client } of opened) {
          await db.dropDatabase().catch(() => undefined);
          await client.close();
        }
      }
    }
  } finally {
    for (const server of servers) await server.close();
  }
  const ratio = (operation: string, size: number) => {
    const of = (backend: Backend) =>
      figures.find(
        (f) => f.backend === backend && f.size === size && f.operation === operation && f.clients === 8,
      )!.ops_per_second;
    return Math.round((of('postgresql') / Math.max(of('sqlite'), 1)) * 10) / 10;
  };
  return {
    benchmark: 'test-store',
    ferretdb:
      'v1.24.2 as scripts/testenv.sh builds it (write locks, _id lookups through the index, reads before writes)',
    sqlite: 'one file per database, WAL, synchronous=normal',
    postgresql: 'Debian PostgreSQL 15, synchronous_commit=off',
    seconds_per_figure: SECONDS,
    figures,
    postgresql_over_sqlite_8_clients: Object.fromEntries(
      SIZES.flatMap((size) => OPERATIONS.map((op) => [`${op.name} @ ${size}`, ratio(op.name, size)])),
    ),
  };
}
