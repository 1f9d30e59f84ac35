import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// `make bench ARGS=...` and `npx tsx bench/run.ts <names>`: a mistyped name must stop before anything runs (a full
// run takes many minutes), say which names exist and write nothing.
describe('bench/run.ts', () => {
  it('when a benchmark name is unknown, then it exits 2 naming it and the benchmarks there are, before running any', function () {
    this.timeout(60_000);
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'checkout', 'chekout'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(run.status, run.stderr).to.equal(2);
    expect(run.stderr).to.match(/no benchmark named 'chekout'; there are: .*\bcheckout\b.*\bmemory\b/);
    expect(run.stdout).not.to.include('bench: checkout ...');
  });
});
