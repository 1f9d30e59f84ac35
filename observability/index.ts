// The observability kit other parts of MeshMart build on: scrape config, rule groups, dashboards.
export {
  fileSdTargets,
  podLabelMeta,
  podRelabelings,
  prometheusScrapeConfig,
  type PrometheusScrapeOptions,
  type RelabelConfig,
  type ScrapeConfig,
  type ScrapeTarget,
} from './prometheus/scrape.ts';
export { prometheusRuleGroups, ruleFiles } from './prometheus/rules.ts';
export type { AlertingRule, RecordingRule, Rule, RuleFile, RuleGroup } from './prometheus/types.ts';
export { dashboards, buildDashboard, type GeneratedDashboard } from './grafana/dashboards.ts';
export { dashboardDefs } from './grafana/definitions.ts';
export type { DashboardDef, PanelDef, QueryDef, RowDef } from './grafana/model.ts';
export { serviceSlos, errorBudget, SLO_PERIOD, type Slo } from './slo/objectives.ts';
export { RULES_DIR, DASHBOARDS_DIR } from './files.ts';
