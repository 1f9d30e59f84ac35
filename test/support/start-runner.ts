import { spawn, type ChildProcess } from 'node:child_process';

/** `make start` (scripts/start.ts) as a child process of a test, its output collected. */
export interface StartRun {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  readonly output: () => string;
  readonly exit: Promise<number | null>;
}

/**
 * Starts scripts/start.ts in `cwd` with `args`, quiet logs and no tracing unless `env` says otherwise; only PATH and
 * HOME of the test's environment are passed on, so a developer's shell does not change what the test sees.
 */
export function startRunner(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): StartRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', TRACING: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}
