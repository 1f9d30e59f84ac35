import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { testenv } from './testenv.ts';

/** A moto server (a local AWS: STS, API Gateway, Step Functions) on a port the kernel picked, for one test file. */
export interface Moto {
  /** `http://127.0.0.1:<port>`: the endpoint URL of every service. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Where the test environment's Python tools are: `<PYTHON_TOOLS_BIN>/<tool>`. */
export function pythonTool(tool: string): string {
  return join(testenv('PYTHON_TOOLS_BIN'), tool);
}

/**
 * Starts `moto_server -p 0` (it binds port 0 and prints the port it got) and waits until it answers. Start it once
 * per file (`before`) and stop it in `after`.
 */
export async function startMoto(): Promise<Moto> {
  const child = spawn(pythonTool('moto_server'), ['-H', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  try {
    const url = await until(
      () => {
        if (child.exitCode !== null) throw new Error(`moto_server exited ${child.exitCode}:\n${out}`);
        const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        return Promise.resolve(m?.[1]);
      },
      'moto_server to print "Running on http://127.0.0.1:<port>"',
      30_000,
    );
    await until(
      async () => ((await fetch(`${url}/moto-api/`)).ok ? true : undefined),
      `moto_server at ${url} to answer /moto-api/`,
      30_000,
    );
    return { url, stop: () => stop(child) };
  } catch (err) {
    await stop(child);
    throw err;
  }
}

/** Polls `probe` every 50 ms until it gives a value; a throw counts as "not yet"; the deadline error names `what`. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Runs a Python script from the test environment's venv with `input` as JSON on stdin; resolves its JSON output. */
export async function runPython<T>(script: string, input: unknown): Promise<T> {
  const child = spawn(pythonTool('python'), [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
    child.stdin.end(JSON.stringify(input));
  });
  if (code !== 0) throw new Error(`${script} exited ${code}:\n${err}${out}`);
  return JSON.parse(out) as T;
}
