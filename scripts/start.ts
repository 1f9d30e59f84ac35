// `make start`: the whole system on this machine. By default every service runs in this one process, each on its
// own catalogue port, with in-memory stores and one in-process event bus; with REDIS_URL / MONGO_URL set the same
// command uses the real stores. `--processes` runs each service in a process of its own (needs REDIS_URL for events).
// Ctrl-C shuts everything down cleanly.
import { ConfigError, hostServices, type AnyServiceDefinition } from '@meshmart/kit';
import { catalogue } from '@meshmart/kit/catalogue';
import { InMemoryEventBus } from '@meshmart/kit/events';
import { runnableServices, startProcesses } from './system.ts';

const multiProcess = process.argv.includes('--processes');
const runnable = runnableServices();

console.log('MeshMart services (the catalogue in services/kit/src/catalogue.ts):');
for (const s of catalogue) {
  const on = runnable.includes(s);
  console.log(`  ${on ? '●' : '○'} ${s.name.padEnd(10)} http://127.0.0.1:${s.port}  ${s.description}`);
}
if (runnable.length === 0) {
  console.log('\nNo service is implemented yet: nothing to run.');
  process.exit(0);
}
const stores = [
  process.env.MONGO_URL
    ? `MongoDB ${process.env.MONGO_URL.replace(/\/\/[^@]*@/, '//***@')}`
    : 'in-memory data',
  process.env.REDIS_URL ? `Redis ${process.env.REDIS_URL}` : 'in-process events and caches',
].join(', ');

let stop: (reason: string) => Promise<void>;
if (multiProcess) {
  if (!process.env.REDIS_URL) {
    console.error('--processes needs REDIS_URL: events cannot cross processes without Redis.');
    process.exit(2);
  }
  console.log(`\nStarting ${runnable.length} processes (${stores})…`);
  const system = await startProcesses({
    ports: 'catalogue',
    onLine: (service, line) => console.log(`${service.padEnd(10)}| ${line}`),
  });
  stop = () => system.stop();
} else {
  console.log(`\nStarting ${runnable.length} services in this process (${stores})…`);
  const definitions: AnyServiceDefinition[] = [];
  for (const s of runnable) {
    const mod = (await import(`@meshmart/${s.name}`)) as { definition: AnyServiceDefinition };
    definitions.push(mod.definition);
  }
  const bus = process.env.REDIS_URL ? undefined : new InMemoryEventBus({ source: 'meshmart' });
  try {
    const system = await hostServices(definitions, { host: bus ? { bus } : {} });
    stop = async (reason) => {
      await system.shutdown(reason);
      await bus?.close();
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
}

const gateway = runnable.find((s) => s.public);
console.log(
  gateway
    ? `\nOpen http://127.0.0.1:${gateway.port}/ — Ctrl-C stops everything.`
    : '\nAll services are up (no gateway yet: call them on the ports above). Ctrl-C stops everything.',
);

let stopping = false;
const onSignal = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: shutting down…`);
  stop(signal).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
