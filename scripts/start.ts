// `make start`: the whole system on this machine. By default every service runs in this one process, each on its
// own catalogue port, with in-memory stores and one in-process event bus; with REDIS_URL / MONGO_URL set the same
// command uses the real stores. `--processes` runs each service in a process of its own (needs REDIS_URL for events).
// `--free-ports` picks free ports instead of the catalogue's (tests); `<NAME>_PORT` moves one service and
// `--base-port N` (BASE_PORT) all of them (the gateway on N, the others after it, in catalogue order). `--traces`
// (TRACES=1) sends every request's spans to the test Jaeger (`make testenv-up`), each service under its own name.
// In one process the services call each other without sockets (the kit's in-process calls); `--sockets` (SOCKETS=1)
// sends those calls over loopback sockets, as separate processes would (to compare the two).
// Ctrl-C (SIGINT) or SIGTERM shuts everything down cleanly and exits 0.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, hostServices, PortError, type AnyServiceDefinition } from '@meshmart/kit';
import { catalogue, type ServiceName } from '@meshmart/catalogue';
import { InMemoryEventBus } from '@meshmart/kit/events';
import {
  assignPort,
  READY_BANNER,
  ROOT,
  runnableServices,
  ServiceExitedError,
  startProcesses,
} from './system.ts';

const USAGE = `usage: npx tsx scripts/start.ts [--processes] [--traces] [--sockets] [--base-port PORT] [--free-ports]
  --processes        each service in a process of its own (needs REDIS_URL)
  --traces           spans of every request to the test Jaeger (make testenv-up), one service name per service (TRACES=1)
  --sockets          in one process, the services call each other over loopback sockets, not in process (SOCKETS=1)
  --base-port PORT   the gateway on PORT, the other services on the ports after it (BASE_PORT); <NAME>_PORT moves one
  --free-ports       free ports instead of the catalogue's (tests)`;

/** The gateway's demo sign-ins (password = user name; docs/gateway.md), read from its source so they never drift. */
async function demoUsers(): Promise<string> {
  if (process.env.DEMO_USERS === 'false') return 'none (DEMO_USERS=false)';
  try {
    const { DEMO_USERS } = (await import('../services/gateway/src/domain/users.ts')) as {
      DEMO_USERS: readonly { username: string; password: string; roles: readonly string[] }[];
    };
    return DEMO_USERS.map((u) => `${u.username} / ${u.password} (${u.roles.join(', ')})`).join(', ');
  } catch {
    return 'see docs/gateway.md';
  }
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        processes: { type: 'boolean', default: false },
        'free-ports': { type: 'boolean', default: false },
        traces: { type: 'boolean', default: false },
        sockets: { type: 'boolean', default: false },
        'base-port': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`start: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const flags = parseFlags();
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const multiProcess = flags.processes;
// The local stage accepts load-test customers (load-1 … load-N, password = name): make load signs in as many of them.
if ((process.env.STAGE ?? 'local') === 'local') process.env.LOAD_USERS ??= '1000';
const freePorts = flags['free-ports'];
const runnable = runnableServices();
const yes = (value: string | undefined): boolean =>
  value !== undefined && !/^(|0|false|no|off)$/i.test(value);

/** `<NAME>_PORT` of a service, else its place after BASE_PORT, else its catalogue port. */
function portsWanted(): Map<ServiceName, number> {
  const baseText = flags['base-port'] ?? process.env.BASE_PORT;
  const lowest = Math.min(...catalogue.map((s) => s.port));
  const highest = Math.max(...catalogue.map((s) => s.port));
  let base: number | undefined;
  if (baseText !== undefined) {
    base = Number(baseText);
    if (!Number.isInteger(base) || base < 1 || base + highest - lowest > 65535) {
      console.error(
        `start: --base-port (BASE_PORT) '${baseText}' must be a port from 1 to ${65535 - (highest - lowest)}`,
      );
      process.exit(2);
    }
  }
  const ports = new Map<ServiceName, number>();
  for (const s of runnable) {
    const variable = `${s.name.toUpperCase()}_PORT`;
    const own = process.env[variable];
    if (own !== undefined && !(/^\d+$/.test(own) && Number(own) <= 65535)) {
      console.error(`start: ${variable} '${own}' must be a port from 0 to 65535 (0 picks a free one)`);
      process.exit(2);
    }
    ports.set(
      s.name as ServiceName,
      own !== undefined ? Number(own) : base !== undefined ? base + s.port - lowest : s.port,
    );
  }
  return ports;
}

const MOVE_ALL =
  'To move every service at once: make start BASE_PORT=<port> (the gateway there, the others after it).';

/** The test environment's addresses (`make testenv-up` writes .testenv/env), overridden by the environment. */
function testenvValue(key: string): string | undefined {
  if (process.env[key]) return process.env[key];
  const file = `${ROOT}/.testenv/env`;
  if (!existsSync(file)) return undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1] === key) return m[2].replace(/^['"]|['"]$/g, '');
  }
  return undefined;
}

let jaegerUi: string | undefined;
if (flags.traces || yes(process.env.TRACES)) {
  if (process.env.TRACING === 'off') {
    console.error('start: --traces (TRACES) and TRACING=off contradict each other: drop one');
    process.exit(2);
  }
  jaegerUi = testenvValue('JAEGER_QUERY_URL') ?? 'http://127.0.0.1:26686';
  const otlp = testenvValue('OTLP_TRACES_URL') ?? 'http://127.0.0.1:24318/v1/traces';
  if (!process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    const answers = await fetch(`${jaegerUi}/api/services`, { signal: AbortSignal.timeout(3000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (!answers) {
      console.error(
        `start: --traces: no Jaeger answers at ${jaegerUi}. Start the test Jaeger with make testenv-up ` +
          `(or only Jaeger: scripts/testenv.d/jaeger.sh up); it takes OTLP at ${otlp}. ` +
          'Or send the spans to a collector of your own with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.',
      );
      process.exit(1);
    }
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = otlp;
  } else jaegerUi = undefined;
  // Every request of one person is worth seeing; the services' default keeps one trace in ten.
  process.env.OTEL_TRACES_SAMPLER_ARG ??= '1';
}

if (runnable.length === 0) {
  console.log('No service is implemented yet: nothing to run.');
  process.exit(0);
}
const stores = [
  process.env.MONGO_URL
    ? `MongoDB ${process.env.MONGO_URL.replace(/\/\/[^@]*@/, '//***@')}`
    : 'in-memory data',
  process.env.REDIS_URL ? `Redis ${process.env.REDIS_URL}` : 'in-process events and caches',
].join(', ');

const urls: Record<string, string> = {};
const pids: Record<string, number | undefined> = {};
let stop: ((reason: string) => Promise<void>) | undefined;
let stopping = false;
// Signals during start-up are remembered and acted on once there is something to stop.
let early: NodeJS.Signals | undefined;
const onSignal = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  if (!stop) {
    early = signal;
    return;
  }
  stopping = true;
  console.log(`\n${signal}: shutting down…`);
  stop(signal).then(
    () => {
      console.log('Stopped.');
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

if (multiProcess) {
  if (!process.env.REDIS_URL) {
    console.error('--processes needs REDIS_URL: events cannot cross processes without Redis.');
    process.exit(2);
  }
  console.log(`Starting ${runnable.length} processes (${stores})…`);
  const wanted = portsWanted();
  // A process is given its port before it starts, so 0 (a free port) is picked here.
  for (const [name, port] of wanted) if (port === 0) wanted.set(name, assignPort());
  let system;
  try {
    system = await startProcesses({
      ports: freePorts ? 'free' : Object.fromEntries(wanted),
      onLine: (service, line) => console.log(`${service.padEnd(10)}| ${line}`),
    });
  } catch (err) {
    if (err instanceof ServiceExitedError && err.portInUse) {
      const port = wanted.get(err.service as ServiceName);
      console.error(
        `${err.service} cannot listen on 127.0.0.1:${port}: the port is in use by another program. Stop that program, ` +
          `or move ${err.service} with ${err.service.toUpperCase()}_PORT=<port> (0 picks a free one). ${MOVE_ALL}`,
      );
    } else if (err instanceof ServiceExitedError) {
      console.error(
        `${err.service} stopped before it was ready; its last lines:\n${err.lines.slice(-20).join('\n')}`,
      );
    } else console.error(`start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  Object.assign(urls, system.urls);
  for (const name of Object.keys(system.urls)) pids[name] = system.pid(name as ServiceName);
  stop = () => system.stop();
} else {
  console.log(`Starting ${runnable.length} services in this process (${stores})…`);
  // Each service on its catalogue port unless <NAME>_PORT moves it (0: a free port); callers are given the real URLs.
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [name, port] of portsWanted())
    env[`${name.toUpperCase()}_PORT`] = freePorts ? '0' : String(port);
  const definitions: AnyServiceDefinition[] = [];
  for (const s of runnable) {
    const mod = (await import(`@meshmart/${s.name}`)) as { definition: AnyServiceDefinition };
    definitions.push(mod.definition);
  }
  const bus = process.env.REDIS_URL ? undefined : new InMemoryEventBus({ source: 'meshmart' });
  try {
    const system = await hostServices(definitions, {
      env,
      host: bus ? { bus } : {},
      inProcessCalls: !(flags.sockets || yes(process.env.SOCKETS)),
    });
    for (const hosted of system.services) urls[hosted.service] = hosted.running.url;
    stop = async (reason) => {
      await system.shutdown(reason);
      await bus?.close();
    };
  } catch (err) {
    await bus?.close();
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    if (err instanceof PortError) {
      console.error(`${err.message} ${MOVE_ALL}`);
      process.exit(1);
    }
    throw err;
  }
}

console.log('\nServices:');
for (const s of catalogue) {
  const url = urls[s.name];
  const pid = pids[s.name] ? ` (pid ${pids[s.name]})` : '';
  console.log(
    `  ${url ? '●' : '○'} ${s.name.padEnd(10)} ${(url ?? 'not implemented').padEnd(24)} ${s.description}${pid}`,
  );
}
const gateway = runnable.find((s) => s.public);
if (gateway) {
  const base = urls[gateway.name];
  console.log(`\n${READY_BANNER}.`);
  console.log(`  Shop (web UI)   ${base}/`);
  console.log(`  API docs        ${base}/docs   (OpenAPI: ${base}/openapi.json)`);
  console.log(`  Demo sign-ins   ${await demoUsers()}`);
  if (Number(process.env.LOAD_USERS ?? 0) > 0)
    console.log(
      `  Load customers  load-1 … load-${process.env.LOAD_USERS} (password = name; make load uses them)`,
    );
  console.log(`  Load            npx tsx scripts/load.ts --url ${base} --rate 20 --duration 30s`);
  if (jaegerUi)
    console.log(
      `  Traces          ${jaegerUi}/search?service=${gateway.name}   (Jaeger; every request, one name per service)`,
    );
  else if (process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    console.log(`  Traces          sent to ${process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}`);
} else {
  console.log(`\n${READY_BANNER} (no gateway yet: call the services on the ports above).`);
}
console.log('Ctrl-C stops everything.');
if (early) onSignal(early);
