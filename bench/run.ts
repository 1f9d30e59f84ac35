// `make bench`: runs the benchmarks named on the command line (all of them by default) and ends with a pass/fail
// table of their targets; exits 1 when one is missed. Results go to bench/out/<name>.json (not tracked), so a quick
// look never rewrites the recorded figures; `--record` writes bench/results/<name>.json, the files BENCHMARKS.md
// quotes, on purpose.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { checkout, type Target } from './checkout.ts';
import { gatewayHop } from './gateway-hop.ts';
import { kitOverhead } from './kit-overhead.ts';
import { memory } from './memory.ts';
import { productRead } from './product-read.ts';
import { sigv4Bench } from './sigv4.ts';
import { synthBench } from './synth.ts';
import { testStore } from './test-store.ts';

const benchmarks: Record<string, () => Promise<Record<string, unknown>>> = {
  'kit-overhead': kitOverhead,
  checkout,
  synth: synthBench,
  'gateway-hop': gatewayHop,
  memory,
  sigv4: sigv4Bench,
  'test-store': testStore,
  'product-read': productRead,
};

const args = process.argv.slice(2);
const record = args.includes('--record');
const only = args.filter((a) => !a.startsWith('--'));
const unknown = only.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  console.error(
    `bench: no benchmark named ${unknown.map((n) => `'${n}'`).join(', ')}; there are: ${Object.keys(benchmarks).join(', ')}`,
  );
  process.exit(2);
}
const dir = new URL(record ? './results/' : './out/', import.meta.url);
mkdirSync(dir, { recursive: true });

/** The targets a result states: its own list, or the older ratio / target_ratio pair. */
function targetsOf(name: string, result: Record<string, unknown>): Target[] {
  if (Array.isArray(result.targets)) return result.targets as Target[];
  if (typeof result.ratio === 'number' && typeof result.target_ratio === 'number') {
    return [
      {
        name: `${name} ratio`,
        value: result.ratio,
        target: result.target_ratio,
        kind: 'min',
        unit: 'x',
        ok: result.ratio >= result.target_ratio,
      },
    ];
  }
  return [];
}

const table: { benchmark: string; target: Target }[] = [];
for (const [name, run] of Object.entries(benchmarks)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`bench: ${name} ...`);
  const started = performance.now();
  let result: Record<string, unknown>;
  try {
    result = await run();
  } catch (err) {
    // A test server that is not up is the user's to fix, in one line; anything else is the benchmark's bug: its stack.
    const message = err instanceof Error ? err.message : String(err);
    const detail = /make testenv-up/.test(message)
      ? message
      : err instanceof Error
        ? (err.stack ?? message)
        : message;
    console.error(`bench: ${name} failed: ${detail}`);
    table.push({
      benchmark: name,
      target: { name: 'ran to the end', value: 0, target: 1, kind: 'min', unit: '', ok: false },
    });
    continue;
  }
  const full = {
    ...result,
    seconds_taken: Math.round((performance.now() - started) / 1000),
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    load_average_1m: Math.round(loadavg()[0] * 10) / 10,
    date: new Date().toISOString(),
  };
  const file = new URL(`${name}.json`, dir);
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  console.log(`bench: ${name} done in ${full.seconds_taken} s; figures in ${file.pathname}`);
  for (const target of targetsOf(name, result)) table.push({ benchmark: name, target });
}

if (table.length > 0) {
  const rows = table.map(({ benchmark, target: t }) => [
    t.ok ? 'pass' : 'MISS',
    benchmark,
    t.name,
    `${t.value}${t.unit && t.unit !== 'x' ? ` ${t.unit}` : t.unit}`,
    `${t.kind === 'max' ? '<' : '>='} ${t.target}${t.unit && t.unit !== 'x' ? ` ${t.unit}` : t.unit}`,
  ]);
  const header = ['', 'benchmark', 'target', 'measured', 'wanted'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const row of rows) console.log(line(row));
}
const missed = table.filter((t) => !t.target.ok).length;
console.log(missed === 0 ? '\nbench: every target met' : `\nbench: ${missed} target(s) missed`);
process.exitCode = missed === 0 ? 0 : 1;
