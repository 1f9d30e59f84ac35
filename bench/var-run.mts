import { fork } from 'node:child_process';
import autocannon from 'autocannon';
const variants = process.argv.slice(2);
for (const V of variants) {
  const child = fork('/work/main/bench/servers/variant.mts', { execArgv: ['--import', 'tsx'], env: { ...process.env, V }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((r) => child.once('message', r));
  const cpu = () => new Promise<number>((r) => { child.once('message', (m: any) => r(m.cpu.user + m.cpu.system)); child.send('x'); });
  await autocannon({ url: 'http://127.0.0.1:18700/v1/items/lamp-1', connections: 50, amount: 5000 });
  const b = await cpu();
  const res = await autocannon({ url: 'http://127.0.0.1:18700/v1/items/lamp-1', connections: 50, amount: Number(process.env.N ?? 30000) });
  const a = await cpu();
  console.log(V.padEnd(20), ((a - b) / res.requests.total).toFixed(1), 'us/req', Math.round(res.requests.average), 'rps');
  child.kill();
  await new Promise((r) => child.once('exit', r));
}
