// `make bench`: runs every benchmark, prints a summary and writes bench/results/<name>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { checkout } from './checkout.ts';
import { gatewayHop } from './gateway-hop.ts';
import { kitOverhead } from './kit-overhead.ts';
import { memory } from './memory.ts';
import { sigv4Bench } from './sigv4.ts';
import { synthBench } from './synth.ts';

const benchmarks: Record<string, () => Promise<Record<string, unknown>>> = {
  'kit-overhead': kitOverhead,
  checkout,
  synth: synthBench,
  'gateway-hop': gatewayHop,
  memory,
  sigv4: sigv4Bench,
};

const only = process.argv.slice(2);
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
let failed = false;
for (const [name, run] of Object.entries(benchmarks)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`bench: ${name} ...`);
  const result: Record<string, unknown> = {
    ...(await run()),
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    date: new Date().toISOString(),
  };
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(result, null, 2)}\n`);
  const { rounds_detail: _detail, ...shown } = result;
  console.log(JSON.stringify(shown, null, 2));
  if (
    typeof result.ratio === 'number' &&
    typeof result.target_ratio === 'number' &&
    result.ratio < result.target_ratio
  ) {
    console.log(`bench: ${name} MISSED its target (${result.ratio} < ${result.target_ratio})`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
