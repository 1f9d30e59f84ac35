import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { READY_BANNER, ROOT } from '../../scripts/system.ts';
import { testenv } from '../support/testenv.ts';
import { call, until } from './support/real-system.ts';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly urls: Record<string, string>;
  readonly pids: Record<string, number>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `make start` as a developer runs it (on free ports), returned once it printed that it is up. */
async function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--free-ports', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', TRACING: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exited = false;
  void exit.then(() => (exited = true));
  // Starting every service with tsx takes a while on a loaded machine; an exit ends the wait at once.
  const state = await until(
    () => Promise.resolve(out.includes('Ctrl-C stops everything') ? 'up' : exited ? 'exited' : undefined),
    'make start to print that it is up',
    180_000,
    200,
  ).catch((err: unknown) => {
    child.kill('SIGTERM');
    throw new Error(`${String(err)}:\n${out}`);
  });
  if (state === 'exited') throw new Error(`make start exited before it was up:\n${out}`);
  const urls: Record<string, string> = {};
  const pids: Record<string, number> = {};
  for (const m of out.matchAll(/● (\w+)\s+(http:\/\/127\.0\.0\.1:\d+)[^\n]*?(?:\(pid (\d+)\))?$/gm)) {
    urls[m[1]] = m[2];
    if (m[3]) pids[m[1]] = Number(m[3]);
  }
  return { child, output: () => out, urls, pids, exit };
}

function portIsFree(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(Number(new URL(url).port), '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('make start (scripts/start.ts)', function () {
  this.timeout(240000);
  let running: Started | undefined;
  afterEach(() => {
    if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
    for (const pid of Object.values(running?.pids ?? {})) if (alive(pid)) process.kill(pid, 'SIGKILL');
    running = undefined;
  });

  it('when started with no infrastructure, then it prints the UI, docs and demo sign-ins, serves the shop, and Ctrl-C stops it with exit 0 and every port freed', async () => {
    running = await start([]);
    const out = running.output();
    expect(out).to.include(READY_BANNER);
    expect(out).to.include('in-memory data, in-process events');
    const gateway = running.urls.gateway;
    expect(gateway, out).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out).to.include(`Shop (web UI)   ${gateway}/`);
    expect(out).to.include(`${gateway}/docs`);
    expect(out).to.match(/alice \/ alice/);
    expect(Object.keys(running.urls)).to.have.length.greaterThan(7);

    const login = await call(gateway, 'POST', '/api/v1/auth/token', { username: 'alice', password: 'alice' });
    expect(login.status).to.equal(200);
    expect((await call(gateway, 'GET', '/api/v1/products?limit=2')).body.items).to.have.length(2);
    expect((await call(gateway, 'GET', '/')).headers.get('content-type')).to.match(/text\/html/);

    running.child.kill('SIGINT');
    expect(await running.exit).to.deep.equal({ code: 0, signal: null });
    for (const [name, url] of Object.entries(running.urls))
      expect(await portIsFree(url), name).to.equal(true);
  });

  it('when started with --processes and REDIS_URL, then each service is its own process and SIGTERM leaves none behind', async () => {
    const prefix = `start-test:${randomBytes(4).toString('hex')}:`;
    running = await start(['--processes'], { REDIS_URL: testenv('REDIS_URL'), REDIS_KEY_PREFIX: prefix });
    const pids = Object.values(running.pids);
    expect(pids.length, running.output()).to.be.greaterThan(7);
    expect(new Set(pids).size).to.equal(pids.length);
    expect(pids.every(alive)).to.equal(true);
    expect((await call(running.urls.gateway, 'GET', '/api/v1/products?limit=1')).status).to.equal(200);

    running.child.kill('SIGTERM');
    expect(await running.exit).to.deep.equal({ code: 0, signal: null });
    expect(pids.filter(alive), 'service processes still running').to.deep.equal([]);
    for (const url of Object.values(running.urls)) expect(await portIsFree(url), url).to.equal(true);

    const redis = new Redis(testenv('REDIS_URL'));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
});
