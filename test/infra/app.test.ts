import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ENVIRONMENTS } from '../../infra/lib/environments.ts';
import { MIN_REASON_LENGTH } from '../../infra/lib/nag.ts';
import { testenv } from '../support/testenv.ts';
import { cloudAssembly, INFRA_DIR } from './support/assembly.ts';

/** CloudFormation's limit for a template deployed from S3 (CDK uploads every template that large). */
const TEMPLATE_LIMIT = 1_000_000;

describe('infra app: cdk synth, cdk-nag and cfn-lint', function () {
  this.timeout(240_000);

  it('when cdk synth runs with no AWS account, then every environment gets a template under the size limit', async () => {
    const assembly = await cloudAssembly();
    expect([...assembly.templates.keys()].sort()).to.deep.equal(
      ENVIRONMENTS.map((e) => `MeshMart-${e.name}`).sort(),
    );
    for (const [stack, bytes] of assembly.sizes) expect(bytes, stack).to.be.below(TEMPLATE_LIMIT);
    console.log(
      `      cdk synth of ${assembly.templates.size} environments: ${assembly.seconds.toFixed(1)} s; templates: ` +
        [...assembly.sizes].map(([s, b]) => `${s} ${(b / 1024).toFixed(0)} KiB`).join(', '),
    );
  });

  it('when cdk-nag checks every stack, then the synthesis reports no finding left unacknowledged', async () => {
    const { dir } = await cloudAssembly();
    const report = JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
    };
    // A passing pack leaves no report of its own; a failing one would be listed here (and would fail cdk synth).
    expect(report.pluginReports.filter((p) => p.conclusion !== 'success')).to.deep.equal([]);
    expect(
      report.pluginReports.flatMap((p) => p.violations.filter((v) => v.ruleName.startsWith('AwsSolutions'))),
    ).to.deep.equal([]);
  });

  it('when a stack holds a resource cdk-nag rejects, then the synthesis fails naming the rule', async () => {
    const out = mkdtempSync(join(tmpdir(), 'meshmart-nag-'));
    const script = fileURLToPath(new URL('support/synth-with-violation.ts', import.meta.url));
    const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, out], {
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      () => false,
      () => true,
    );
    expect(failed, 'the synthesis fails').to.equal(true);
    const report = readFileSync(join(out, 'validation-report.json'), 'utf8');
    expect(report).to.include('AwsSolutions-SQS3').and.to.include('AwsSolutions-SQS4');
  });

  it('when a finding is acknowledged, then it carries a written reason', async () => {
    const { templates } = await cloudAssembly();
    let count = 0;
    for (const [stack, t] of templates)
      for (const [id, r] of Object.entries(t.Resources)) {
        const rules = (r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as { id: string; reason: string }[];
        for (const rule of rules) {
          count++;
          expect(rule.reason.trim().length, `${stack}/${id} ${rule.id}`).to.be.at.least(MIN_REASON_LENGTH);
        }
      }
    expect(count, 'acknowledgements are written into the templates').to.be.above(0);
  });

  it('when cfn-lint checks every template, then it reports nothing', async () => {
    const { dir, templates } = await cloudAssembly();
    const files = [...templates.keys()].map((s) => join(dir, `${s}.template.json`));
    const cfnLint = join(testenv('PYTHON_TOOLS_BIN'), 'cfn-lint');
    const started = performance.now();
    // One cfn-lint per core, each on its share of the templates: the templates are linted independently.
    const processes = Math.min(files.length, availableParallelism());
    const groups = Array.from({ length: processes }, (_, i) => files.filter((_f, j) => j % processes === i));
    const results = await Promise.all(
      groups.map((group) =>
        promisify(execFile)(
          cfnLint,
          ['--config-file', join(INFRA_DIR, '.cfnlintrc.yaml'), '--format', 'parseable', '--', ...group],
          { maxBuffer: 16 * 1024 * 1024 },
        ).then(
          (r) => ({ code: 0, out: r.stdout + r.stderr }),
          (e: { code?: number; stdout?: string; stderr?: string }) => ({
            code: e.code ?? -1,
            out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
          }),
        ),
      ),
    );
    const result = {
      code: results.find((r) => r.code !== 0)?.code ?? 0,
      out: results.map((r) => r.out).join(''),
    };
    if (result.code !== 0) writeFileSync(join(dir, 'cfn-lint.txt'), result.out);
    expect(result.out.trim(), `cfn-lint findings (all in ${dir}/cfn-lint.txt)`).to.equal('');
    expect(result.code).to.equal(0);
    console.log(
      `      cfn-lint of ${files.length} templates: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
