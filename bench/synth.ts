// Time to synthesize every cdk8s profile. Cold: a fresh `node --import tsx cdk8s/main.ts` (what `make synth` costs),
// wall clock and CPU (user + sys, which other load on the machine does not inflate). Warm: synthProfiles again in
// this process. Target: a cold synth under 3 s of CPU; `ratio` = target / cold CPU, so run.ts's
// `ratio < target_ratio` check flags a miss. The wall figure is reported beside it with the load average.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthProfiles } from '@meshmart/cdk8s/synth.ts';
import { PROFILE_NAMES } from '@meshmart/cdk8s/profiles/index.ts';

const TARGET_MS = 3000;
const rounds = Number(process.env.BENCH_SYNTH_ROUNDS ?? 5);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]);
}

/** One cold synth in a child process: wall and CPU milliseconds, measured by bash's `time`. */
function coldRun(root: string, out: string): { wall: number; cpu: number } {
  const script = `TIMEFORMAT='%R %U %S'; time "${process.execPath}" --import tsx cdk8s/main.ts --example-values --out "${out}" >/dev/null`;
  const stderr = execFileSync('bash', ['-c', `{ ${script} ; } 2>&1`], { cwd: root, encoding: 'utf8' });
  const [real, user, sys] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall: real * 1000, cpu: (user + sys) * 1000 };
}

export function synthBench(): Promise<Record<string, unknown>> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'meshmart-bench-synth-'));
  try {
    const load = loadavg()[0];
    const cold = Array.from({ length: rounds }, (_, i) => coldRun(root, join(dir, `cold-${i}`)));
    const warmWall: number[] = [];
    const warmCpu: number[] = [];
    let objects = 0;
    for (let i = 0; i <= rounds; i++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const results = synthProfiles(PROFILE_NAMES, join(dir, `warm-${i}`));
      const used = process.cpuUsage(cpu);
      if (i > 0) {
        warmWall.push(performance.now() - started);
        warmCpu.push((used.user + used.system) / 1000);
      }
      objects = results.reduce((n, r) => n + r.objects, 0);
    }
    const coldCpu = median(cold.map((c) => c.cpu));
    return Promise.resolve({
      benchmark: 'synth',
      profiles: [...PROFILE_NAMES],
      objects,
      rounds,
      cold_cpu_ms: coldCpu,
      cold_wall_ms: median(cold.map((c) => c.wall)),
      warm_cpu_ms: median(warmCpu),
      warm_wall_ms: median(warmWall),
      load_average_1m: Math.round(load * 100) / 100,
      target_ms: TARGET_MS,
      ratio: Math.round((TARGET_MS / coldCpu) * 1000) / 1000,
      target_ratio: 1,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await synthBench(), null, 2));
}
