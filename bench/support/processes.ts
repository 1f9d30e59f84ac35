// CPU time of the processes a benchmark runs on: the services it started and the test servers (Redis, FerretDB and
// PostgreSQL's postmaster with every backend it forked), read from /proc so the figure is the machine's own.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TESTENV = fileURLToPath(new URL('../../.testenv/', import.meta.url));
/** Linux reports utime and stime in clock ticks of 10 ms (USER_HZ = 100 on every architecture Node runs on). */
const MS_PER_TICK = 10;

interface Stat {
  readonly ppid: number;
  readonly cpuMs: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK };
  } catch {
    return undefined;
  }
}

function pidFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').split('\n')[0].trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Pids of the test servers, by name; PostgreSQL's backends are counted with their postmaster. */
export function testServerPids(): Record<string, number | undefined> {
  return {
    redis: pidFile(`${TESTENV}run/redis.pid`),
    ferretdb: pidFile(`${TESTENV}run/ferretdb.pid`),
    postgres: pidFile(`${TESTENV}postgres/data/postmaster.pid`),
  };
}

/** CPU milliseconds used so far by `pid` and every process it forked that is still alive (PostgreSQL's backends). */
export function cpuMsWithChildren(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = stat(pid)?.cpuMs ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s && s.ppid === pid) total += s.cpuMs;
  }
  return total;
}

/** A snapshot of CPU milliseconds per named process. */
export function cpuSnapshot(pids: Readonly<Record<string, number | undefined>>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsWithChildren(pid)]));
}
