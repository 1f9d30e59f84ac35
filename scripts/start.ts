// `make start`: every service in the catalogue that has a main.ts, each in its own process on its catalogue port,
// with their JSON logs prefixed by name. Ctrl-C stops them all gracefully.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { catalogue } from '@meshmart/kit/catalogue';

const root = fileURLToPath(new URL('..', import.meta.url));
const runnable = catalogue.filter((s) => existsSync(`${root}services/${s.name}/src/main.ts`));
const missing = catalogue.filter((s) => !runnable.includes(s)).map((s) => s.name);

console.log('MeshMart services (from the catalogue in services/kit/src/catalogue.ts):');
for (const s of catalogue) {
  console.log(`  ${runnable.includes(s) ? '●' : '○'} ${s.name.padEnd(10)} :${s.port}  ${s.description}`);
}
if (runnable.length === 0) {
  console.log(`\nNo service is implemented yet (${missing.join(', ')}): only the service kit exists so far.`);
  console.log('Nothing to run. `make test` exercises the kit against real Redis, FerretDB and Prometheus.');
  process.exit(0);
}

const children = new Map<string, ChildProcess>();
for (const s of runnable) {
  const child = spawn(process.execPath, ['--import', 'tsx', `services/${s.name}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, PORT: String(s.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line) console.log(`${s.name.padEnd(10)}| ${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    children.delete(s.name);
    if (!stopping) console.log(`${s.name} exited (${signal ?? code}); stopping the others`);
    stop();
  });
  children.set(s.name, child);
}
const gateway = runnable.find((s) => s.public);
if (gateway) console.log(`\nOpen http://127.0.0.1:${gateway.port}/ — Ctrl-C stops everything.`);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
