// `make load`: a realistic mix of shoppers against the gateway (scripts/load/mix.ts), at a fixed offered rate.
//   npx tsx scripts/load.ts --url http://127.0.0.1:8080 --rate 20 --duration 30s [--users 10] [--requests N]
//     [--seed 1] [--json] [--allow-errors]
// Exit code 1 when any request failed (unless --allow-errors), 2 on bad arguments or when the run cannot start.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { progressLine, summaryText } from './load/format.ts';
import { runLoad } from './load/run.ts';

export { runLoad, type LoadOptions, type LoadProgress, type LoadSummary } from './load/run.ts';

/** "30", "30s", "2m", "500ms" to seconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new Error(`not a duration: "${value}" (try 30s, 2m or 500ms)`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a number above 0 (got "${value}")`);
  return n;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        url: { type: 'string', default: process.env.LOAD_URL ?? 'http://127.0.0.1:8080' },
        rate: { type: 'string', default: process.env.RATE },
        duration: { type: 'string', default: process.env.DURATION },
        requests: { type: 'string' },
        users: { type: 'string', default: process.env.USERS },
        seed: { type: 'string' },
        json: { type: 'boolean', default: false },
        'allow-errors': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    console.error(`load: ${(err as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(
      'usage: npx tsx scripts/load.ts [--url http://127.0.0.1:8080] [--rate 20] [--duration 30s] ' +
        '[--requests N] [--users 10] [--seed 1] [--json] [--allow-errors]',
    );
    return 0;
  }
  let options;
  try {
    options = {
      baseUrl: args.url,
      rate: positive('rate', args.rate),
      durationSeconds: args.duration ? parseDuration(args.duration) : undefined,
      requests: positive('requests', args.requests),
      users: positive('users', args.users),
      seed: args.seed === undefined ? undefined : Number(args.seed),
    };
  } catch (err) {
    console.error(`load: ${(err as Error).message}`);
    return 2;
  }

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const tty = process.stderr.isTTY;
  console.error(
    `load: ${options.rate ?? 20} req/s against ${options.baseUrl} for ` +
      `${options.requests ? `${options.requests} requests` : `${options.durationSeconds ?? 30} s`} (Ctrl-C stops early)`,
  );
  let summary;
  try {
    summary = await runLoad({
      ...options,
      signal: controller.signal,
      onProgress: (p) => {
        if (tty) process.stderr.write(`\r${progressLine(p)}\x1b[K`);
        else console.error(progressLine(p));
      },
    });
  } catch (err) {
    if (tty) process.stderr.write('\n');
    console.error(`load: cannot run: ${(err as Error).message}`);
    return 2;
  }
  if (tty) process.stderr.write('\n');
  console.log(args.json ? JSON.stringify(summary, null, 2) : summaryText(summary));
  if (summary.errors > 0 && !args['allow-errors']) {
    console.error(`load: ${summary.errors} requests failed (exit 1; --allow-errors to accept them)`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
