// `make start`: the whole system on this machine. By default every service runs in this one process, each on its
// own catalogue port, with in-memory stores and one in-process event bus; with REDIS_URL / MONGO_URL set the same
// command uses the real stores. `--processes` runs each service in a process of its own (needs REDIS_URL for events).
// `--free-ports` picks free ports instead of the catalogue's (tests); `<NAME>_PORT` moves one service. Ctrl-C
// (SIGINT) or SIGTERM shuts everything down cleanly and exits 0.
import { ConfigError, hostServices, PortError, type AnyServiceDefinition } from '@meshmart/kit';
import { catalogue, type ServiceName } from '@meshmart/kit/catalogue';
import { InMemoryEventBus } from '@meshmart/kit/events';
import { READY_BANNER, runnableServices, startProcesses } from './system.ts';

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

const multiProcess = process.argv.includes('--processes');
const freePorts = process.argv.includes('--free-ports');
const runnable = runnableServices();

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
  const system = await startProcesses({
    ports: freePorts ? 'free' : 'catalogue',
    onLine: (service, line) => console.log(`${service.padEnd(10)}| ${line}`),
  });
  Object.assign(urls, system.urls);
  for (const name of Object.keys(system.urls)) pids[name] = system.pid(name as ServiceName);
  stop = () => system.stop();
} else {
  console.log(`Starting ${runnable.length} services in this process (${stores})…`);
  // Each service on its catalogue port unless <NAME>_PORT moves it (0: a free port); callers are given the real URLs.
  const env: Record<string, string | undefined> = { ...process.env };
  if (freePorts) for (const s of runnable) env[`${s.name.toUpperCase()}_PORT`] = '0';
  const definitions: AnyServiceDefinition[] = [];
  for (const s of runnable) {
    const mod = (await import(`@meshmart/${s.name}`)) as { definition: AnyServiceDefinition };
    definitions.push(mod.definition);
  }
  const bus = process.env.REDIS_URL ? undefined : new InMemoryEventBus({ source: 'meshmart' });
  try {
    const system = await hostServices(definitions, { env, host: bus ? { bus } : {} });
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
      console.error(err.message);
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
  console.log(`  Load            npx tsx scripts/load.ts --url ${base} --rate 20 --duration 30s`);
} else {
  console.log(`\n${READY_BANNER} (no gateway yet: call the services on the ports above).`);
}
console.log('Ctrl-C stops everything.');
if (early) onSignal(early);
