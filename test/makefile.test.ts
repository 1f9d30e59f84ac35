import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function make(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  // -o: never remake the install stamp: a changed lockfile would run npm ci under everyone else's feet.
  const r = spawnSync('make', ['--no-print-directory', '-o', 'node_modules/.meshmart-installed', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// What a mistyped or missing make variable does: stop before anything runs, saying what the target takes.
describe('Makefile: the variables each target takes', () => {
  it('when a variable is misspelled, then make stops and lists the ones the target reads', () => {
    const load = make('-n', 'load', 'DURATON=5s');
    expect(load.status).to.equal(2);
    expect(load.stderr).to.include(
      "unknown variable DURATON for 'make load': make load takes URL, RATE, DURATION",
    );
    expect(load.stdout).to.equal('');
    const deploy = make('-n', 'deploy', 'PROFLE=kind');
    expect(deploy.status).to.equal(2);
    expect(deploy.stderr).to.include(
      "unknown variable PROFLE for 'make deploy': make deploy takes PROFILE, ARGS",
    );
  });

  it('when a required variable is missing, then make says which and gives an example', () => {
    const deploy = make('-n', 'deploy');
    expect(deploy.status).to.equal(2);
    expect(deploy.stderr).to.include('make deploy needs PROFILE: make deploy PROFILE=kind');
    const canary = make('-n', 'canary', 'SERVICE=catalog');
    expect(canary.status).to.equal(2);
    expect(canary.stderr).to.include(
      'make canary needs SERVICE and VERSION: make canary SERVICE=catalog VERSION=v2',
    );
  });

  it('when the variables are the ones a target reads, then they reach its command', () => {
    expect(make('-n', 'load', 'RATE=5', 'DURATION=10s').stdout).to.include('--rate 5 --duration 10s');
    expect(make('-n', 'deploy', 'PROFILE=kind', 'ARGS=--dry-run').stdout).to.include(
      'npx tsx ops/deploy.ts --profile kind --dry-run',
    );
    const synth = make(
      '-n',
      'synth',
      'PROFILE=eks-lattice',
      'EXAMPLE=1',
      'MESHMART_AWS_ACCOUNT_ID=123456789012',
    );
    expect(synth.stdout).to.match(/npm run synth -- --profile eks-lattice +--example-values/);
    // Service settings and <NAME>_PORT are the services' own variables: make start passes them on.
    const start = make('-n', 'start', 'TRACES=1', 'BASE_PORT=9080', 'RATE_LIMIT_USER=0', 'CATALOG_PORT=9181');
    expect(start.status, start.stderr).to.equal(0);
    expect(start.stdout).to.include('npm start -- --traces --base-port 9080');
    expect(make('-n', 'start', 'TRACE=1').stderr).to.include("unknown variable TRACE for 'make start'");
  });

  it('when promtool is missing, then make observability says how to get it instead of "command not found"', () => {
    const r = make('observability', 'PROMTOOL=/nonexistent/promtool');
    expect(r.status).to.equal(2);
    expect(r.stdout).to.include('promtool, Prometheus');
    expect(r.stdout).to.include('sudo apt-get install prometheus');
    expect(r.stdout).to.include('make testenv-up installs it');
    expect(r.stderr).to.not.include('command not found');
  });
});
