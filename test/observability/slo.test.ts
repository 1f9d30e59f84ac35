import { expect } from 'chai';
import { SERVICE_NAMES } from '@meshmart/catalogue';
import { DURATION_BUCKETS } from '../../services/kit/src/metric-declarations.ts';
import { errorBudget, serviceSlos } from '@meshmart/observability/slo/objectives.ts';
import {
  burnRateExpr,
  PAGE_WINDOWS,
  sloAlertRule,
  sloRecordingRules,
  sloRuleGroups,
  SLI_WINDOWS,
  TICKET_WINDOWS,
} from '@meshmart/observability/slo/rules.ts';

describe('SLOs as code', () => {
  const slos = serviceSlos();

  it('when the SLOs are listed, then every service has a 99.9% availability and a 99% latency objective', () => {
    expect(slos).to.have.length(SERVICE_NAMES.length * 2);
    for (const service of SERVICE_NAMES) {
      const own = slos.filter((s) => s.service === service);
      expect(own.map((s) => [s.kind, s.objective])).to.deep.equal([
        ['availability', 0.999],
        ['latency', 0.99],
      ]);
    }
    expect(errorBudget(slos[0])).to.equal(0.001);
    expect(errorBudget(slos[1])).to.equal(0.01);
  });

  it('when a latency SLO is defined, then its threshold is a bucket bound of the kit histogram (250 ms, gateway 500 ms)', () => {
    for (const slo of slos.filter((s) => s.kind === 'latency')) {
      expect(DURATION_BUCKETS).to.include(slo.thresholdSeconds);
      expect(slo.thresholdSeconds).to.equal(slo.service === 'gateway' ? 0.5 : 0.25);
    }
  });

  it('when a threshold is not a bucket bound, then building the SLOs fails naming the buckets', () => {
    // 300 ms falls between the 250 ms and 500 ms buckets: the SLI could not be computed from the histogram.
    expect(() => serviceSlos({ thresholds: { cart: 0.3 } })).to.throw(
      /cart's latency threshold 0.3s is not a bucket.*0.25, 0.5/,
    );
    expect(
      serviceSlos({ thresholds: { cart: 0.5 } }).find((s) => s.service === 'cart' && s.kind === 'latency')
        ?.thresholdSeconds,
    ).to.equal(0.5);
  });

  it('when the burn-rate windows are read, then they are the SRE workbook pairs (14.4, 6 page; 3, 1 ticket)', () => {
    expect(PAGE_WINDOWS.map((w) => [w.long, w.short, w.factor])).to.deep.equal([
      ['1h', '5m', 14.4],
      ['6h', '30m', 6],
    ]);
    expect(TICKET_WINDOWS.map((w) => [w.long, w.short, w.factor])).to.deep.equal([
      ['1d', '2h', 3],
      ['3d', '6h', 1],
    ]);
  });

  it('when an availability SLO is recorded, then there is one error ratio per window over the 5xx share', () => {
    const cart = slos.find((s) => s.service === 'cart' && s.kind === 'availability')!;
    const rules = sloRecordingRules(cart);
    expect(
      rules.filter((r) => r.record.startsWith('slo:sli_error:ratio_rate')).map((r) => r.record),
    ).to.include.members(SLI_WINDOWS.map((w) => `slo:sli_error:ratio_rate${w}`));
    const oneHour = rules.find((r) => r.record === 'slo:sli_error:ratio_rate1h')!;
    expect(oneHour.expr).to.equal(
      'sum(rate(http_request_duration_seconds_count{service="cart",status_class="5xx"}[1h])) / ' +
        'sum(rate(http_request_duration_seconds_count{service="cart"}[1h]))',
    );
    expect(oneHour.labels).to.deep.equal({ service: 'cart', slo: 'availability' });
  });

  it('when a latency SLO is recorded, then the bad share is one minus the threshold bucket over the count', () => {
    const gw = slos.find((s) => s.service === 'gateway' && s.kind === 'latency')!;
    const expr = sloRecordingRules(gw).find((r) => r.record === 'slo:sli_error:ratio_rate5m')!.expr;
    expect(expr).to.equal(
      '1 - (sum(rate(http_request_duration_seconds_bucket{service="gateway",le="0.5"}[5m])) / ' +
        'sum(rate(http_request_duration_seconds_count{service="gateway"}[5m])))',
    );
  });

  it('when the page alert is built, then both window pairs must agree at 14.4x and 6x the budget', () => {
    const cart = slos.find((s) => s.service === 'cart' && s.kind === 'availability')!;
    const m = '{service="cart",slo="availability"}';
    expect(burnRateExpr(cart, PAGE_WINDOWS)).to.equal(
      `(slo:sli_error:ratio_rate1h${m} > 0.0144 and slo:sli_error:ratio_rate5m${m} > 0.0144) or ` +
        `(slo:sli_error:ratio_rate6h${m} > 0.006 and slo:sli_error:ratio_rate30m${m} > 0.006)`,
    );
    const page = sloAlertRule(cart, 'page');
    expect(page).to.include({ alert: 'CartAvailabilityBudgetBurnFast', for: '2m' });
    expect(page.labels).to.deep.equal({ severity: 'page', service: 'cart', slo: 'availability' });
    expect(sloAlertRule(cart, 'ticket').labels.severity).to.equal('ticket');
  });

  it('when the groups are built, then each service has a recording group and an alert group of four alerts', () => {
    const groups = sloRuleGroups(slos);
    expect(groups.map((g) => g.service)).to.deep.equal([...SERVICE_NAMES]);
    for (const g of groups) {
      expect(g.alerts.rules).to.have.length(4);
      expect(g.recordings.rules).to.have.length(2 * (SLI_WINDOWS.length + 4));
    }
  });
});
