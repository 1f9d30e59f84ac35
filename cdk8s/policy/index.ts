import { imageTagsRule } from './rules/image-tags.ts';
import { networkCoverageRule } from './rules/network-coverage.ts';
import { pdbRule } from './rules/pdb.ts';
import { probesRule } from './rules/probes.ts';
import { reachabilityRule } from './rules/reachability.ts';
import { resourcesRule } from './rules/resources.ts';
import { secretLiteralsRule } from './rules/secret-literals.ts';
import { securityContextRule } from './rules/security-context.ts';
import type { Manifest, PolicyContext, PolicyRule, Violation } from './types.ts';

export type { Manifest, PolicyContext, PolicyRule, Violation } from './types.ts';

/** The policy rules (the AWS Config rules' role): each a pure function over the synthesized objects. */
export const RULES: readonly PolicyRule[] = [
  probesRule,
  resourcesRule,
  securityContextRule,
  imageTagsRule,
  networkCoverageRule,
  pdbRule,
  secretLiteralsRule,
  reachabilityRule,
];

export interface PolicyReport {
  readonly rules: readonly {
    readonly id: string;
    readonly description: string;
    readonly violations: readonly Violation[];
  }[];
  readonly violations: number;
}

export function checkPolicy(
  objects: readonly Manifest[],
  context: PolicyContext,
  rules: readonly PolicyRule[] = RULES,
): PolicyReport {
  const results = rules.map((r) => ({
    id: r.id,
    description: r.description,
    violations: r.check(objects, context),
  }));
  return { rules: results, violations: results.reduce((n, r) => n + r.violations.length, 0) };
}

export function formatReport(title: string, report: PolicyReport): string {
  const lines = [`${title}: ${report.violations === 0 ? 'PASS' : `FAIL (${report.violations} violations)`}`];
  for (const r of report.rules) {
    lines.push(`  ${r.violations.length === 0 ? 'ok  ' : 'FAIL'} ${r.id}: ${r.description}`);
    for (const v of r.violations) lines.push(`         - ${v.object}: ${v.message}`);
  }
  return lines.join('\n');
}
