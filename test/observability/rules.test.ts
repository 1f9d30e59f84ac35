import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { RULES_DIR, staleFiles } from '@meshmart/observability/files.ts';
import { meshmartCases } from '@meshmart/observability/prometheus/rule-tests.ts';
import { prometheusRuleGroups, ruleFiles } from '@meshmart/observability/prometheus/rules.ts';
import { isAlert } from '@meshmart/observability/prometheus/types.ts';
import { testenv } from '../support/testenv.ts';

const run = promisify(execFile);

async function promtool(args: string[], cwd: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(testenv('PROMTOOL'), args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

describe('Prometheus rules (promtool)', function () {
  this.timeout(120000);
  const files = ruleFiles();
  const alerts = prometheusRuleGroups()
    .flatMap((g) => g.rules)
    .filter(isAlert);

  it('when the rules are generated again, then the files under observability/prometheus/rules are current', async () => {
    expect(await staleFiles(), 'run `npx tsx observability/generate.ts`').to.deep.equal([]);
  });

  it('when promtool checks every rule file, then it reports success for each', async () => {
    const res = await promtool(['check', 'rules', ...files.map((f) => `${f.name}.rules.yaml`)], RULES_DIR);
    expect(res.ok, res.output).to.equal(true);
    for (const f of files) expect(res.output).to.contain(`Checking ${f.name}.rules.yaml\n  SUCCESS`);
  });

  it('when the unit tests are read, then every alert has exactly one firing and one quiet case', () => {
    const seen = new Map<string, { fires: number; quiet: number }>();
    for (const f of files) {
      if (!f.groups.some((g) => g.rules.some(isAlert))) continue;
      const doc = parse(readFileSync(join(RULES_DIR, `${f.name}.test.yaml`), 'utf8')) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
      };
      for (const t of doc.tests) {
        for (const a of t.alert_rule_test) {
          const s = seen.get(a.alertname) ?? { fires: 0, quiet: 0 };
          if (a.exp_alerts.length > 0) s.fires++;
          else s.quiet++;
          seen.set(a.alertname, s);
        }
      }
    }
    expect([...seen.keys()].sort()).to.deep.equal(alerts.map((a) => a.alert).sort());
    for (const [alert, s] of seen) expect(s, alert).to.deep.equal({ fires: 1, quiet: 1 });
    expect(meshmartCases().length).to.equal(alerts.filter((a) => !('slo' in a.labels)).length);
  });

  for (const f of files.filter((file) => file.groups.some((g) => g.rules.some(isAlert)))) {
    it(`when promtool runs ${f.name}.test.yaml, then every case passes`, async () => {
      const res = await promtool(['test', 'rules', `${f.name}.test.yaml`], RULES_DIR);
      expect(res.ok, res.output).to.equal(true);
      expect(res.output).to.contain('SUCCESS');
    });
  }

  it('when an alert threshold is broken, then its promtool unit test fails (the tests can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshmart-rules-'));
    try {
      cpSync(RULES_DIR, dir, { recursive: true });
      const saga = join(dir, 'saga.rules.yaml');
      writeFileSync(saga, readFileSync(saga, 'utf8').replace('> 0.02', '> 0.5'));
      const res = await promtool(['test', 'rules', 'saga.test.yaml'], dir);
      expect(res.ok).to.equal(false);
      expect(res.output).to.contain('CheckoutSagaFailureRateHigh');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
