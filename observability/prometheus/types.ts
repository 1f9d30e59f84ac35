/** A Prometheus rule as it appears in a rule file (and in a PrometheusRule's spec.groups[].rules[]). */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

/** A rule file: which file under observability/prometheus/rules/ holds which groups. */
export interface RuleFile {
  /** Base name; written as `<name>.rules.yaml`, its unit tests as `<name>.test.yaml`. */
  readonly name: string;
  readonly groups: readonly RuleGroup[];
}

export function isAlert(rule: Rule): rule is AlertingRule {
  return 'alert' in rule;
}
