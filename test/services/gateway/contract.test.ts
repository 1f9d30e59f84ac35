import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startEmbeddedSystem, type EmbeddedSystem } from '../../support/embedded-system.ts';
import { testenv } from '../../support/testenv.ts';

const CONFIG = fileURLToPath(new URL('./schemathesis.toml', import.meta.url));
/** Per operation; with the coverage phase's own cases about 900 requests, some 20 s on two cores. */
const EXAMPLES = 50;
const SEED = 1;

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * The gateway's OpenAPI document is the truth about the server: schemathesis (the test environment's venv) generates
 * requests from it, valid and invalid, against the whole system in this process, and every check must hold — no
 * server error, every status, content type, header and body as documented, invalid input refused, valid input
 * accepted, auth enforced, an undocumented method 405 with Allow.
 */
describe('the gateway against its OpenAPI document (schemathesis)', function () {
  this.timeout(180_000);
  let system: EmbeddedSystem;
  let gateway: string;
  let work: string;

  before(async function () {
    this.timeout(60_000);
    // One client address fuzzes: the rate limits would only turn its requests into 429s.
    system = await startEmbeddedSystem({
      RATE_LIMIT_USER: '0',
      RATE_LIMIT_ADDRESS: '0',
      RATE_LIMIT_SIGN_IN: '0',
      WEB_UI: 'false',
    });
    gateway = system.urls.gateway!;
    // schemathesis and hypothesis write their caches and reports where they run.
    work = await mkdtemp(join(tmpdir(), 'meshmart-contract-'));
  });
  after(async () => {
    await system?.system.shutdown('test done');
    await system?.bus.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(`when every operation is fuzzed (${EXAMPLES} examples each, every check), then there is no server error and no contract violation`, async () => {
    const signIn = await fetch(`${gateway}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'admin' }),
    });
    const { access_token: token } = (await signIn.json()) as { access_token: string };
    const doc = (await (await fetch(`${gateway}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    const st = join(testenv('PYTHON_TOOLS_BIN'), 'st');
    const started = performance.now();
    const result = await run(
      st,
      [
        '--config-file',
        CONFIG,
        'run',
        `${gateway}/openapi.json`,
        '--header',
        `Authorization: Bearer ${token}`,
        '--checks',
        'all',
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        String(EXAMPLES),
        '--seed',
        String(SEED),
        '--workers',
        '2',
        '--request-timeout',
        '10',
      ],
      work,
    );
    const seconds = (performance.now() - started) / 1000;
    const summary = result.output.slice(result.output.lastIndexOf('SUMMARY'));
    expect(result.code, result.output.slice(-12_000)).to.equal(0);
    expect(summary).to.match(new RegExp(`Tested: ${operations}\\b`));
    expect(summary).to.not.match(/failures?\b.*\bin\b/i);
    expect(seconds, summary).to.be.below(120);
  });
});
