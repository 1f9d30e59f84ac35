import { serviceSlos } from '../slo/objectives.ts';
import { sloRuleGroups } from '../slo/rules.ts';
import { cacheAlerts, eventAlerts, meshmartRecordingRules, sagaAlerts, targetAlerts } from './alerts.ts';
import type { RuleFile, RuleGroup } from './types.ts';

/**
 * Every rule file under observability/prometheus/rules/, recordings before the alerts that read them. Prometheus
 * evaluates groups concurrently, so an alert reading a recording sees the previous evaluation's value.
 */
export function ruleFiles(): RuleFile[] {
  return [
    ...sloRuleGroups(serviceSlos()).map((g) => ({
      name: `slo-${g.service}`,
      groups: [g.recordings, g.alerts],
    })),
    { name: 'meshmart', groups: [meshmartRecordingRules()] },
    { name: 'saga', groups: [sagaAlerts()] },
    { name: 'events', groups: [eventAlerts()] },
    { name: 'cache', groups: [cacheAlerts()] },
    { name: 'targets', groups: [targetAlerts()] },
  ];
}

/** The recording and alerting rule groups, as objects (a PrometheusRule's spec.groups, a rule file's groups). */
export function prometheusRuleGroups(): RuleGroup[] {
  return ruleFiles().flatMap((f) => f.groups);
}
